//go:build linux

package netio

import "unsafe"

// ptr is the address of p's first byte (p is not empty), for a raw system
// call; p stays reachable through the call's caller.
func ptr(p []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(p)) }
