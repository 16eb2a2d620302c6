// SPDX-License-Identifier: MIT
// The Go baseline beside tests/bench/trivial-hook.c: an OCI hook that only
// reads its state from stdin and exits 0.
package main

import (
	"io"
	"os"
)

func main() {
	if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
		os.Exit(1)
	}
}
