//go:build amd64 || arm64 || 386 || arm || ppc64le || riscv64

package main

// lowByte is where a 16-bit field's low byte lies, and 4*lowByte where a
// 64-bit one's low half does: first on little-endian machines.
const lowByte = 0
