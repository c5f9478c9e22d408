//go:build !unix

package gguf

func open(path string) (*File, error) {
	return readAll(path)
}
