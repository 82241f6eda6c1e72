// Package notifytest has the local receivers notification tests deliver
// to: a real SMTP server on loopback, for the packages whose tests send mail.
package notifytest

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
)

// SMTPSink is a real local SMTP server (plain, no TLS or login: enough for
// the conversation) that answers MAIL FROM with the scripted replies in
// turn and keeps every message it accepts.
type SMTPSink struct {
	ln       net.Listener
	mu       sync.Mutex
	mailFrom []string // replies to MAIL FROM, the last one from then on
	tries    int
	got      []string // accepted messages: envelope and data
}

func NewSMTPSink(t *testing.T, mailFrom ...string) *SMTPSink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &SMTPSink{ln: ln, mailFrom: mailFrom}
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

func (s *SMTPSink) serve(conn net.Conn) {
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
			say("502 unrecognised command")
		}
	}
}

func (s *SMTPSink) Messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

// Addr is the sink's host:port.
func (s *SMTPSink) Addr() string { return s.ln.Addr().String() }
