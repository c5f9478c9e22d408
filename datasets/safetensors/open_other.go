//go:build !unix

package safetensors

func open(path string) (*File, error) {
	return openReaderAt(path)
}
