package conference

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/parleyhq/parley/server/protocol"
	"github.com/parleyhq/parley/server/store"
)

const chatColumns = `id, from_participant, from_name, to_participant, text, at, edited_at, deleted_at`

func scanChat(row interface{ Scan(...any) error }) (protocol.ChatMessage, error) {
	var (
		m                   protocol.ChatMessage
		at, edited, deleted int64
	)
	if err := row.Scan(&m.ID, &m.From, &m.FromName, &m.To, &m.Text, &at, &edited, &deleted); err != nil {
		return m, err
	}
	m.At = store.FromMillis(at)
	if edited != 0 {
		t := store.FromMillis(edited)
		m.EditedAt = &t
	}
	if deleted != 0 {
		m.Deleted, m.Text = true, ""
	}
	return m, nil
}

// chatHistory returns the last messages of a conference that a participant
// may see: public ones, and private ones to or from them (by participant
// id, or by account for users, so that a user's private messages survive a
// rejoin).
func (s *Service) chatHistory(ctx context.Context, conferenceID int64, participantID string, userID int64) ([]protocol.ChatMessage, error) {
	rows, err := s.db.SQL().QueryContext(ctx, `SELECT `+chatColumns+` FROM chat_messages
		WHERE conference_id = ? AND (to_participant = '' OR from_participant = ? OR to_participant = ?
		   OR (? <> 0 AND (from_user_id = ? OR to_user_id = ?)))
		ORDER BY id DESC LIMIT ?`, conferenceID, participantID, participantID, userID, userID, userID, chatHistoryN)
	if err != nil {
		return nil, fmt.Errorf("chat history: %w", err)
	}
	defer rows.Close()
	list := []protocol.ChatMessage{}
	for rows.Next() {
		m, err := scanChat(rows)
		if err != nil {
			return nil, fmt.Errorf("chat history: %w", err)
		}
		list = append(list, m)
	}
	slices.Reverse(list)
	return list, rows.Err()
}

// ChatHistory is a conference's whole public chat, for users who may read
// it after the conference: see CanReadChat.
func (s *Service) ChatHistory(ctx context.Context, cid string, userID int64) ([]protocol.ChatMessage, error) {
	c, err := s.Get(ctx, cid)
	if err != nil {
		return nil, err
	}
	return s.chatHistory(ctx, c.ID, "", userID)
}

// Chat posts a message, privately when to is a participant id.
func (h *Handle) Chat(text, to string) (protocol.ChatMessage, error) {
	if _, err := h.joined(); err != nil {
		return protocol.ChatMessage{}, err
	}
	r := h.p.room
	r.mu.Lock()
	var recipient *participant
	if to != "" {
		if recipient = r.findLocked(to); recipient == nil {
			r.mu.Unlock()
			return protocol.ChatMessage{}, fail("not_found", "That participant is not in the conference.")
		}
	}
	conferenceID, sessionID := r.def.ID, r.sessionID
	r.mu.Unlock()

	m := protocol.ChatMessage{From: h.p.info.ID, FromName: h.p.info.Name, To: to, Text: text, At: r.svc.now().UTC().Truncate(time.Millisecond)}
	var toUser any
	if recipient != nil && recipient.info.UserID != 0 {
		toUser = recipient.info.UserID
	}
	var fromUser any
	if h.p.info.UserID != 0 {
		fromUser = h.p.info.UserID
	}
	res, err := r.svc.db.SQL().ExecContext(context.Background(), `INSERT INTO chat_messages
		(conference_id, session_id, from_participant, from_user_id, from_name, to_participant, to_user_id, text, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		conferenceID, sessionID, m.From, fromUser, m.FromName, to, toUser, text, store.Millis(m.At))
	if err != nil {
		return protocol.ChatMessage{}, fmt.Errorf("store chat message: %w", err)
	}
	m.ID, _ = res.LastInsertId()
	r.deliverChat(h.p, recipient, &protocol.Chat{Event: protocol.Event{Type: "chat"}, Message: m})
	return m, nil
}

// deliverChat sends a chat event to everyone concerned but the author,
// whose copy answers their request.
func (r *Room) deliverChat(author, recipient *participant, event *protocol.Chat) {
	if recipient != nil {
		if recipient != author {
			recipient.send(event)
		}
		return
	}
	r.broadcast(event, author)
}

// editable loads a message of this conference and checks that the
// participant may change it: its author within the edit window, or a
// moderator deleting.
func (h *Handle) editable(id int64, deleting bool) (protocol.ChatMessage, *participant, error) {
	if _, err := h.joined(); err != nil {
		return protocol.ChatMessage{}, nil, err
	}
	r := h.p.room
	r.mu.Lock()
	conferenceID, moderator := r.def.ID, isModerator(h.p.info.Role)
	r.mu.Unlock()
	m, err := scanChat(r.svc.db.SQL().QueryRow(`SELECT `+chatColumns+` FROM chat_messages WHERE id = ? AND conference_id = ?`, id, conferenceID))
	if errors.Is(err, sql.ErrNoRows) {
		return m, nil, fail("not_found", "There is no such message.")
	}
	if err != nil {
		return m, nil, fmt.Errorf("load chat message: %w", err)
	}
	if m.Deleted {
		return m, nil, fail("not_found", "This message was deleted.")
	}
	own := m.From == h.p.info.ID
	window := time.Duration(r.svc.settings().ChatEditMinutes) * time.Minute
	switch {
	case deleting && moderator:
	case !own:
		return m, nil, fail("forbidden", "You may only change your own messages.")
	case r.svc.now().Sub(m.At) > window:
		return m, nil, fail("forbidden", "Messages can be changed for %d minutes after sending.", int(window.Minutes()))
	}
	var recipient *participant
	if m.To != "" {
		r.mu.Lock()
		recipient = r.findLocked(m.To)
		r.mu.Unlock()
	}
	return m, recipient, nil
}

// ChatEdit changes the text of one's own message.
func (h *Handle) ChatEdit(id int64, text string) (protocol.ChatMessage, error) {
	m, recipient, err := h.editable(id, false)
	if err != nil {
		return m, err
	}
	r := h.p.room
	now := r.svc.now().UTC().Truncate(time.Millisecond)
	if _, err := r.svc.db.SQL().Exec(`UPDATE chat_messages SET text = ?, edited_at = ? WHERE id = ?`, text, store.Millis(now), id); err != nil {
		return m, fmt.Errorf("edit chat message: %w", err)
	}
	m.Text, m.EditedAt = text, &now
	r.deliverChat(h.p, recipient, &protocol.Chat{Event: protocol.Event{Type: "chat_updated"}, Message: m})
	return m, nil
}

// ChatDelete deletes a message: its author's within the edit window, or
// any for moderators. Its text is erased; its place stays.
func (h *Handle) ChatDelete(id int64) (protocol.ChatMessage, error) {
	m, recipient, err := h.editable(id, true)
	if err != nil {
		return m, err
	}
	r := h.p.room
	if _, err := r.svc.db.SQL().Exec(`UPDATE chat_messages SET text = '', deleted_at = ? WHERE id = ?`, store.Millis(r.svc.now()), id); err != nil {
		return m, fmt.Errorf("delete chat message: %w", err)
	}
	m.Text, m.Deleted = "", true
	event := &protocol.Chat{Event: protocol.Event{Type: "chat_updated"}, Message: m}
	if recipient != nil || m.To != "" {
		r.deliverChat(h.p, recipient, event)
		if author := h.p.room.participantByID(m.From); author != nil && author != h.p {
			author.send(event)
		}
		return m, nil
	}
	r.deliverChat(h.p, nil, event)
	return m, nil
}

func (r *Room) participantByID(id string) *participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.findLocked(id)
}
