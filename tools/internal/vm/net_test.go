package vm

import (
	"encoding/json"
	"os"
	"testing"

	"virtinit/tools/internal/contract"
)

// TestUserNetWord holds the word to testdata/net-words.json of the
// repository, which /init's tests parse: what chrootvm --net passes is
// what /init configures.
func TestUserNetWord(t *testing.T) {
	b, err := os.ReadFile("../../../testdata/net-words.json")
	if err != nil {
		t.Fatal(err)
	}
	var table struct {
		UserNet struct{ Word, Guest, Gateway, Netmask, Device, Resolver string }
	}
	if err := json.Unmarshal(b, &table); err != nil {
		t.Fatalf("testdata/net-words.json: %v", err)
	}
	u := table.UserNet
	if got := UserNetWord(); got != u.Word || got == "" {
		t.Errorf("UserNetWord() = %q, want %q", got, u.Word)
	}
	for _, c := range [][2]string{{UserNetGuest, u.Guest}, {UserNetHost, u.Gateway}, {UserNetNetmask, u.Netmask},
		{UserNetDevice, u.Device}, {UserNetResolver, u.Resolver}} {
		if c[0] != c[1] {
			t.Errorf("vm says %q where testdata/net-words.json says %q", c[0], c[1])
		}
	}
	if _, err := contract.QuoteWord(UserNetWord()); err != nil {
		t.Errorf("contract.QuoteWord(%q): %v", UserNetWord(), err)
	}
}
