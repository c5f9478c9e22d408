package model

import "fmt"

func loadGGUF(path string) (*Model, error) {
	return nil, fmt.Errorf("%s: GGUF loading is not built yet", path)
}
