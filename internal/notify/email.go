package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/jobs"
)

// sendMail delivers m to the channel's recipients through its SMTP server
// and returns the server's last reply code (0 without one). A 4xx reply or
// a network error is retried; a 5xx reply is a refusal.
func (d *deliverer) sendMail(ctx context.Context, j *jobs.Job, ch Channel, m Message) (int, error) {
	u, err := url.Parse(ch.URL)
	if err != nil {
		return 0, jobs.Permanent(err)
	}
	host := u.Hostname()
	addr := u.Host
	if u.Port() == "" {
		port := "587"
		if u.Scheme == "smtps" {
			port = "465"
		}
		addr = net.JoinHostPort(host, port)
	}
	deadline := time.Now().Add(d.opts.Timeout)
	dialer := &net.Dialer{Deadline: deadline}
	var conn net.Conn
	if u.Scheme == "smtps" {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: &tls.Config{ServerName: host}}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return 0, mailError(ch, err, d.opts.Timeout)
	}
	defer conn.Close()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()

	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return smtpCode(err), mailError(ch, err, d.opts.Timeout)
	}
	defer c.Close()
	step := func(err error) error {
		if err != nil {
			return mailError(ch, err, d.opts.Timeout)
		}
		return nil
	}
	if err := step(c.Hello("quarterdeck")); err != nil {
		return smtpCode(err), err
	}
	if ok, _ := c.Extension("STARTTLS"); ok && u.Scheme == "smtp" {
		if err := step(c.StartTLS(&tls.Config{ServerName: host})); err != nil {
			return smtpCode(err), err
		}
	}
	if ch.Username != "" {
		// PlainAuth sends the password only over TLS (or to localhost).
		if err := step(c.Auth(smtp.PlainAuth("", ch.Username, ch.Secret, host))); err != nil {
			return smtpCode(err), err
		}
	}
	from, _ := mail.ParseAddress(ch.From)
	if err := step(c.Mail(from.Address)); err != nil {
		return smtpCode(err), err
	}
	for _, to := range ch.To {
		a, _ := mail.ParseAddress(to)
		if err := step(c.Rcpt(a.Address)); err != nil {
			return smtpCode(err), err
		}
	}
	w, err := c.Data()
	if err != nil {
		return smtpCode(err), step(err)
	}
	if _, err := w.Write(mailBody(j, ch, m, d.opts.Now())); err != nil {
		return 0, step(err)
	}
	if err := w.Close(); err != nil {
		return smtpCode(err), step(err)
	}
	c.Quit()
	return 250, nil
}

// smtpCode is the reply code of an SMTP error, 0 for other errors.
func smtpCode(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

// mailError classifies an SMTP failure: a 5xx reply is permanent; a 4xx,
// a timeout or a network error is worth another try.
func mailError(ch Channel, err error, timeout time.Duration) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("mail server of channel %s: no answer within %v", ch.Name, timeout)
	}
	err = fmt.Errorf("mail server of channel %s: %w", ch.Name, err)
	if code := smtpCode(err); code >= 500 {
		return jobs.Permanent(err)
	}
	return err
}

// mailBody is the message as RFC 5322 text: plain UTF-8, quoted-printable.
func mailBody(j *jobs.Job, ch Channel, m Message, now time.Time) []byte {
	subject := m.Title
	if subject == "" {
		subject = m.Event
	}
	subject = strings.Join(strings.Fields(subject), " ") // no line breaks in a header
	sum := sha256.Sum256([]byte(j.Key))
	fromHost := "quarterdeck"
	if a, err := mail.ParseAddress(ch.From); err == nil {
		if _, h, ok := strings.Cut(a.Address, "@"); ok {
			fromHost = h
		}
	}
	var b bytes.Buffer
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", ch.From)
	hdr("To", strings.Join(ch.To, ", "))
	hdr("Subject", mime.QEncoding.Encode("utf-8", subject))
	hdr("Date", now.Format(time.RFC1123Z))
	// The same Message-ID on every retry lets mail systems drop a repeat.
	hdr("Message-ID", "<"+hex.EncodeToString(sum[:12])+"."+strconv.FormatInt(j.ID, 10)+"@"+fromHost+">")
	hdr(EventHeader, m.Event)
	hdr(DeliveryHeader, strconv.FormatInt(j.ID, 10))
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	var text strings.Builder
	if m.Text != "" {
		text.WriteString(m.Text + "\n\n")
	}
	for _, f := range m.Fields {
		text.WriteString(f.Name + ": " + f.Value + "\n")
	}
	if m.Link != "" {
		text.WriteString("\n" + m.Link + "\n")
	}
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(text.String(), "\n", "\r\n")))
	qp.Close()
	return b.Bytes()
}
