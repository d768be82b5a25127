package api

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/parleyhq/parley/server/accounts"
)

// FuzzDecode feeds arbitrary bodies to the decoder of every request type:
// it must never panic, and must either decode or return a 4xx error.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"login":"anna","password":"x","session":"cookie"}`,
		`{"login":"anna","display_name":"Anna","groups":[1,2]}`,
		`{"display_name":null,"enabled":false,"groups":[]}`,
		`{"certificate":"-----BEGIN CERTIFICATE-----","private_key":""}`,
		`{"server_name":"Office","lockout":{"max_failures":5}}`,
		`{"a":1} {"b":2}`, `[`, `"`, `{"login":1e999}`, "\x00\xff", `{"token":"\u0000"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		targets := []any{
			&signInRequest{}, &setupRequest{}, &accounts.NewUser{}, &accounts.UserPatch{}, &accounts.GroupPatch{},
			&profilePatch{}, &passwordChange{}, &passwordReset{}, &newGroup{}, &certificateUpload{},
			&map[string]json.RawMessage{},
		}
		for _, target := range targets {
			if err := decodeBytes(body, target); err != nil {
				if err.Status < 400 || err.Status >= 500 || err.Code == "" || err.Message == "" {
					t.Fatalf("decode %T: unclear error %+v", target, err)
				}
			}
		}
	})
}

func TestDecodeNamesTheField(t *testing.T) {
	var body accounts.NewUser
	err := decodeBytes([]byte(`{"login": 42}`), &body)
	if err == nil || err.Field != "login" || err.Status != http.StatusBadRequest {
		t.Fatalf("got %+v", err)
	}
	err = decodeBytes([]byte(`{"colour": "blue"}`), &body)
	if err == nil || err.Field != "colour" {
		t.Fatalf("got %+v", err)
	}
}
