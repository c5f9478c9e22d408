//go:build !amd64

package kernels

func detect() Level { return Generic }
