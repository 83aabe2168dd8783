//go:build s390x

package main

// lowByte is where a 16-bit field's low byte lies, and 4*lowByte where a
// 64-bit one's low half does: last on big-endian machines.
const lowByte = 1
