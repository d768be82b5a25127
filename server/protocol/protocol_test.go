package protocol

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeAcceptsEveryDocumentedRequest(t *testing.T) {
	for _, text := range []string{
		`{"type":"join","id":1,"conference":"4820117735","name":"Guest Gina","pin":"4711"}`,
		`{"type":"join","id":1,"resume":"r_Zr9"}`,
		`{"type":"hello"}`, `{"type":"leave"}`, `{"type":"restart_ice"}`, `{"type":"end","id":4}`,
		`{"type":"publish","id":2,"sdp":"v=0\r\n","tracks":[{"mid":"0","source":"microphone"},{"mid":"1","source":"camera"}]}`,
		`{"type":"subscribe_answer","sdp":"v=0\r\n"}`,
		`{"type":"candidate","target":"publish","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}}`,
		`{"type":"candidate","target":"subscribe","candidate":null}`,
		`{"type":"layer","track":"p_3kT9x/camera","width":320,"height":180}`,
		`{"type":"layer","track":"p_3kT9x/camera","paused":true}`,
		`{"type":"mute","source":"camera","muted":true}`,
		`{"type":"chat_send","id":5,"text":"Hello","to":"p_Q81mz"}`,
		`{"type":"chat_edit","message":118,"text":"See you at 11"}`,
		`{"type":"chat_delete","message":118}`,
		`{"type":"admit","participant":"p_x"}`, `{"type":"admit","all":true}`,
		`{"type":"refuse","participant":"p_x"}`, `{"type":"refuse","all":true}`,
		`{"type":"mute_participant","participant":"p_x","source":"microphone","force":true}`,
		`{"type":"allow_unmute","participant":"p_x","source":"microphone"}`,
		`{"type":"remove","participant":"p_x"}`,
		`{"type":"set_role","participant":"p_x","role":"moderator"}`,
		`{"type":"lock","locked":true}`,
		`{"type":"set_pin","pin":"4711"}`, `{"type":"set_pin","pin":"auto"}`, `{"type":"set_pin","pin":""}`,
		`{"type":"call","id":9,"user":4}`,
		`{"type":"call_accept","call":"c_1"}`,
		`{"type":"call_decline","call":"c_1","reason":"In a meeting"}`,
		`{"type":"call_cancel","call":"c_1"}`,
	} {
		if _, err := Decode([]byte(text)); err != nil {
			t.Errorf("%s: %v", text, err)
		}
	}
}

func TestDecodeRefusesBadMessagesClearly(t *testing.T) {
	cases := map[string]string{
		`not json`:                                     "bad_message",
		`[]`:                                           "bad_message",
		`{"type":"fly"}`:                               "bad_message",
		`{"type":"leave","extra":1}`:                   "bad_message",
		`{"type":"join","conference":42}`:              "bad_message",
		`{"type":"leave"}{"type":"leave"}`:             "bad_message",
		`{"type":"leave","id":-3}`:                     "bad_message",
		`{"type":"join","conference":"../../etc"}`:     "invalid",
		`{"type":"join","conference":"1","pin":"12"}`:  "invalid",
		`{"type":"join","conference":"1","name":" x"}`: "invalid",
		`{"type":"join","resume":"r","name":"x"}`:      "invalid",
		`{"type":"publish","sdp":"hello","tracks":[{"mid":"0","source":"camera"}]}`:                             "invalid",
		`{"type":"publish","sdp":"v=0","tracks":[]}`:                                                            "invalid",
		`{"type":"publish","sdp":"v=0","tracks":[{"mid":"0","source":"webcam"}]}`:                               "invalid",
		`{"type":"publish","sdp":"v=0","tracks":[{"mid":"0","source":"camera"},{"mid":"0","source":"screen"}]}`: "invalid",
		`{"type":"candidate","target":"sideways","candidate":null}`:                                             "invalid",
		`{"type":"layer","track":"p/camera","width":0,"height":10}`:                                             "invalid",
		`{"type":"layer","track":"x","paused":true}`:                                                            "invalid",
		`{"type":"chat_send","text":"   "}`:                                                                     "invalid",
		`{"type":"chat_send","text":"` + strings.Repeat("a", MaxChatRunes+1) + `"}`:                             "invalid",
		`{"type":"admit"}`: "invalid",
		`{"type":"admit","participant":"p","all":true}`:       "invalid",
		`{"type":"set_role","participant":"p","role":"king"}`: "invalid",
		`{"type":"set_pin","pin":"12ab"}`:                     "invalid",
		`{"type":"call","user":0}`:                            "invalid",
	}
	for text, code := range cases {
		_, err := Decode([]byte(text))
		var decodeErr *DecodeError
		if !errors.As(err, &decodeErr) || decodeErr.Code != code || decodeErr.Message == "" {
			t.Errorf("%s: got %v, want %s", text, err, code)
		}
	}
	_, err := Decode([]byte(`{"type":"set_pin","id":7,"pin":"1"}`))
	var decodeErr *DecodeError
	if !errors.As(err, &decodeErr) || decodeErr.ID != 7 || decodeErr.Field != "pin" {
		t.Errorf("error does not answer the request: %+v", err)
	}
	if _, err := Decode(make([]byte, MaxMessageBytes+1)); err == nil {
		t.Error("oversize message accepted")
	}
}

func TestDecodeEventReadsServerMessages(t *testing.T) {
	kind, event, err := DecodeEvent([]byte(`{"type":"joined","re":1,"you":{"id":"p_1","name":"A","kind":"guest","role":"participant","muted":{"microphone":true,"camera":false},"forced":{"microphone":false,"camera":false},"screen":false,"joined_at":"2026-11-22T09:00:00Z"},"conference":{"cid":"1"},"participants":[],"chat":[],"ice_servers":[{"urls":["stun:10.0.0.1:3478"]}],"resume":"r_1","new_field":1}`))
	if err != nil {
		t.Fatal(err)
	}
	joined, ok := event.(*Joined)
	if kind != "joined" || !ok || joined.Re != 1 || !joined.You.Muted.Microphone || joined.ICEServers[0].URLs[0] != "stun:10.0.0.1:3478" {
		t.Errorf("decoded %s %+v", kind, event)
	}
	if _, _, err := DecodeEvent([]byte(`{"type":"nonsense"}`)); err == nil {
		t.Error("unknown event accepted")
	}
}

// FuzzDecode checks that no input makes the decoder panic and that every
// refusal is a DecodeError with a code and a message.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"type":"join","id":1,"conference":"4820117735","name":"Gina","pin":"4711"}`,
		`{"type":"publish","sdp":"v=0","tracks":[{"mid":"0","source":"camera"}]}`,
		`{"type":"candidate","target":"publish","candidate":{"candidate":"x","sdpMid":"0","sdpMLineIndex":0}}`,
		`{"type":"layer","track":"p_1/camera","width":1,"height":1}`,
		`{"type":"chat_send","text":"hi"}`, `{"type":"admit","all":true}`, `{`, `{"type":1}`, `{"id":1e99}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		request, err := Decode(data)
		if err != nil {
			var decodeErr *DecodeError
			if !errors.As(err, &decodeErr) || decodeErr.Code == "" || decodeErr.Message == "" {
				t.Fatalf("unclear error %#v", err)
			}
			return
		}
		if request.Kind() == "" {
			t.Fatal("decoded a message without a type")
		}
	})
}
