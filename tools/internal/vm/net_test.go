package vm

import (
	"testing"

	"virtinit/tools/internal/contract"
)

// TestUserNetWord pins the word to qemu's user-mode network: a change of
// either side must be seen here (and /init's parser reads the same word
// in its own tests).
func TestUserNetWord(t *testing.T) {
	const want = "ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off:10.0.2.3"
	if got := UserNetWord(); got != want {
		t.Errorf("UserNetWord() = %q, want %q", got, want)
	}
	if _, err := contract.QuoteWord(UserNetWord()); err != nil {
		t.Errorf("contract.QuoteWord(%q): %v", UserNetWord(), err)
	}
}
