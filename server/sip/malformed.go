package sip

import (
	"bytes"
	"net"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// maxDatagram is the largest request taken over UDP; a larger one cannot
// have arrived whole, and gets 513 Message Too Large (RFC 3261 18.1.1
// asks for TCP above the path MTU anyway).
const maxDatagram = 16 << 10

// filterMalformed runs before sipgo's parser on every UDP datagram: a
// request that does not parse gets 400 Bad Request (sipgo would drop it
// silently, and the phone would retry for half a minute), one too large
// 513. Responses and keep-alives pass; what is not SIP at all is dropped.
func (s *Server) filterMalformed(props sip.TransportReadProps, data []byte) ([]byte, error) {
	if !strings.EqualFold(props.Transport, "udp") || len(bytes.Trim(data, "\r\n")) == 0 {
		return data, nil
	}
	if len(data) > maxDatagram {
		s.answerUnparsed(props.RemoteAddr, data, "513 Message Too Large")
		return nil, nil
	}
	if _, err := sip.NewParser().ParseSIP(data); err != nil {
		s.answerUnparsed(props.RemoteAddr, data, "400 Bad Request")
		s.logger.Debug("malformed SIP request", "from", props.RemoteAddr, "error", err)
		return nil, nil // dropped, not an error: an error stops the listener
	}
	return data, nil
}

// answerUnparsed answers a request sipgo could not parse, copying the
// headers a response needs from its lines as they are. A response, or
// something that is not a request line, gets nothing.
func (s *Server) answerUnparsed(to net.Addr, data []byte, status string) {
	conn := s.udp.Load()
	if conn == nil || to == nil {
		return
	}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	// A request line is METHOD URI SIP/2.0; one whose URI is missing or
	// broken is still a request to answer. An ACK is never answered.
	parts := strings.Fields(lines[0])
	if len(parts) < 2 || parts[len(parts)-1] != "SIP/2.0" || parts[0] == "ACK" || !isToken(parts[0]) {
		return
	}
	var response strings.Builder
	response.WriteString("SIP/2.0 " + status + "\r\n")
	wanted := map[string]bool{"via": true, "v": true, "from": true, "f": true, "to": true, "t": true, "call-id": true, "i": true, "cseq": true}
	for _, line := range lines[1:] {
		if line == "" {
			break // the body begins
		}
		name, _, ok := strings.Cut(line, ":")
		if ok && wanted[strings.ToLower(strings.TrimSpace(name))] && len(line) < 1024 {
			response.WriteString(line + "\r\n")
		}
	}
	response.WriteString("Server: " + userAgent + "\r\nContent-Length: 0\r\n\r\n")
	if _, err := (*conn).WriteTo([]byte(response.String()), to); err != nil {
		s.logger.Debug("answer a malformed request", "to", to, "error", err)
	}
}

// isToken reports whether a method name is a SIP token of upper-case
// letters, as every method is.
func isToken(method string) bool {
	return method != "" && strings.Trim(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == ""
}
