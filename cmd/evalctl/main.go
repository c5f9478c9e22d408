package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		fmt.Fprintln(os.Stderr, "\nevalctl: interrupt: finishing cleanly and flushing records (interrupt again to exit now)")
		cancel()
		<-sig
		fmt.Fprintln(os.Stderr, "evalctl: second interrupt: exiting now")
		os.Exit(exitInterrupted)
	}()
	e := &env{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr,
		stderrIsTTY: term.IsTerminal(int(os.Stderr.Fd())),
	}
	err := run(ctx, e, os.Args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "evalctl:", err)
	}
	os.Exit(exitCode(err))
}
