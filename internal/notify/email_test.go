package notify

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/jobs"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

// smtpSink is a real local SMTP server (plain, no TLS or login: enough for
// the conversation) that answers MAIL FROM with the scripted replies in
// turn and keeps every message it accepts.
type smtpSink struct {
	ln       net.Listener
	mu       sync.Mutex
	mailFrom []string // replies to MAIL FROM, the last one from then on
	tries    int
	got      []string // accepted messages: envelope and data
}

func newSMTPSink(t *testing.T, mailFrom ...string) *smtpSink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{ln: ln, mailFrom: mailFrom}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(conn)
		}
	}()
	return s
}

func (s *smtpSink) serve(conn net.Conn) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	say := func(line string) { conn.Write([]byte(line + "\r\n")) }
	say("220 sink ready")
	var envelope []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250 sink")
		case strings.HasPrefix(cmd, "MAIL FROM"):
			s.mu.Lock()
			reply := s.mailFrom[min(s.tries, len(s.mailFrom)-1)]
			s.tries++
			s.mu.Unlock()
			say(reply)
			envelope = []string{strings.TrimSpace(line)}
		case strings.HasPrefix(cmd, "RCPT TO"):
			envelope = append(envelope, strings.TrimSpace(line))
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(l)
			}
			s.mu.Lock()
			s.got = append(s.got, strings.Join(envelope, "\n")+"\n\n"+data.String())
			s.mu.Unlock()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}

func (s *smtpSink) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

func mailChannel(name string, sink *smtpSink) Channel {
	return Channel{Name: name, Type: Email, URL: "smtp://" + sink.ln.Addr().String(),
		From: "Quarterdeck <quarterdeck@example.com>", To: []string{"ops@example.com", "Grace <grace@example.com>"}}
}

func TestEmailRetriedOnATemporaryRefusal(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		sink := newSMTPSink(t, "451 try again later", "250 ok")
		w := worker(t, s, 3, mailChannel("ops-mail", sink))
		m := hotLead("ops-mail")
		m.Title = "Hot lead: Zoë\r\nBcc: evil@example.com"
		j, log := deliver(t, s, w, m)
		if j.State != jobs.Done || outcomes(log) != "451 retry, 250 delivered" {
			t.Fatalf("%s, log %s %v", j.State, outcomes(log), log)
		}
		got := sink.messages()
		if len(got) != 1 {
			t.Fatalf("%d messages accepted, want 1", len(got))
		}
		msg := got[0]
		for _, want := range []string{
			"MAIL FROM:<quarterdeck@example.com>", "RCPT TO:<ops@example.com>", "RCPT TO:<grace@example.com>",
			"Subject: =?utf-8?q?Hot_lead:_Zo=C3=AB_Bcc:_evil@example.com?=",
			"X-Quarterdeck-Event: lead.hot", "Content-Type: text/plain; charset=utf-8",
			"Grade A, score 91", "Company: Analytical Engines", "http://127.0.0.1:8080/leads/42",
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("message lacks %q:\n%s", want, msg)
			}
		}
		if strings.Contains(msg, "\r\nBcc:") {
			t.Errorf("a title's line break made a header:\n%s", msg)
		}
	})
}

func TestEmailPermanentRefusalIsNotRetried(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		sink := newSMTPSink(t, "550 no such sender")
		w := worker(t, s, 3, mailChannel("ops-mail", sink))
		j, log := deliver(t, s, w, hotLead("ops-mail"))
		if j.State != jobs.Failed || outcomes(log) != "550 failed" || !strings.Contains(log[0].Error, "no such sender") {
			t.Errorf("%s, log %s %v", j.State, outcomes(log), log)
		}
	})
}
