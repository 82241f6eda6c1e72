package notify

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/quarterdeck/quarterdeck/internal/jobs"
)

// slackBody is Slack's incoming-webhook message: text (shown in
// notifications and where blocks are not) and blocks (a header, the text,
// the fields two by two, a link to the record).
func slackBody(m Message) map[string]any {
	var blocks []map[string]any
	if m.Title != "" {
		blocks = append(blocks, map[string]any{"type": "header",
			"text": map[string]any{"type": "plain_text", "text": clip(m.Title, 150), "emoji": true}})
	}
	if m.Text != "" {
		blocks = append(blocks, map[string]any{"type": "section",
			"text": map[string]any{"type": "mrkdwn", "text": clip(slackEscape(m.Text), 3000)}})
	}
	// A section holds at most 10 fields.
	for i := 0; i < len(m.Fields); i += 10 {
		var fields []map[string]any
		for _, f := range m.Fields[i:min(i+10, len(m.Fields))] {
			fields = append(fields, map[string]any{"type": "mrkdwn",
				"text": clip("*"+slackEscape(f.Name)+"*\n"+slackEscape(f.Value), 2000)})
		}
		blocks = append(blocks, map[string]any{"type": "section", "fields": fields})
	}
	if m.Link != "" {
		blocks = append(blocks, map[string]any{"type": "context", "elements": []map[string]any{
			{"type": "mrkdwn", "text": "<" + m.Link + "|Open in Quarterdeck>"}}})
	}
	text := m.Title
	if m.Text != "" {
		if text != "" {
			text += ": "
		}
		text += m.Text
	}
	return map[string]any{"text": clip(slackEscape(text), 3000), "blocks": blocks}
}

// slackEscape escapes the three characters Slack's mrkdwn reserves, so a
// lead named "<!channel>" cannot ping a whole channel.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// clip shortens s to at most n characters (Slack refuses longer block texts).
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// webhookPayload is the generic webhook's JSON body.
type webhookPayload struct {
	ID        int64     `json:"id"` // the delivery: the same on every retry
	Event     string    `json:"event"`
	DedupeKey string    `json:"dedupe_key"`
	At        time.Time `json:"at"`
	Attempt   int       `json:"attempt"`
	Title     string    `json:"title,omitempty"`
	Text      string    `json:"text,omitempty"`
	Fields    []Field   `json:"fields,omitempty"`
	Link      string    `json:"link,omitempty"`
	Data      any       `json:"data,omitempty"`
}

func webhookBody(j *jobs.Job, m Message) webhookPayload {
	return webhookPayload{ID: j.ID, Event: m.Event, DedupeKey: m.DedupeKey, At: m.At, Attempt: j.Attempts,
		Title: m.Title, Text: m.Text, Fields: m.Fields, Link: m.Link, Data: m.Data}
}
