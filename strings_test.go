package main

import "testing"

func TestItoaMsec(t *testing.T) {
	for _, tt := range []struct {
		us   int64
		want string
	}{{0, "0.000"}, {1, "0.001"}, {999, "0.999"}, {1000, "1.000"}, {1234567, "1234.567"}, {-5, "-0.005"}} {
		if got := msec(tt.us); got != tt.want {
			t.Errorf("msec(%d) = %q, want %q", tt.us, got, tt.want)
		}
	}
	for _, tt := range []struct {
		s  string
		v  int
		ok bool
	}{{"0", 0, true}, {"10", 10, true}, {"", 0, false}, {"-1", 0, false}, {"1x", 0, false}, {"9999999999", 0, false}} {
		if v, ok := atoi(tt.s); v != tt.v || ok != tt.ok {
			t.Errorf("atoi(%q) = %d, %v, want %d, %v", tt.s, v, ok, tt.v, tt.ok)
		}
	}
}
