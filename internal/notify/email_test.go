package notify

import (
	"strings"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/jobs"
	"github.com/quarterdeck/quarterdeck/internal/notify/notifytest"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

func mailChannel(name string, sink *notifytest.SMTPSink) Channel {
	return Channel{Name: name, Type: Email, URL: "smtp://" + sink.Addr(),
		From: "Quarterdeck <quarterdeck@example.com>", To: []string{"ops@example.com", "Grace <grace@example.com>"}}
}

func TestEmailRetriedOnATemporaryRefusal(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		sink := notifytest.NewSMTPSink(t, "451 try again later", "250 ok")
		w := worker(t, s, 3, mailChannel("ops-mail", sink))
		m := hotLead("ops-mail")
		m.Title = "Hot lead: Zoë\r\nBcc: evil@example.com"
		j, log := deliver(t, s, w, m)
		if j.State != jobs.Done || outcomes(log) != "451 retry, 250 delivered" {
			t.Fatalf("%s, log %s %v", j.State, outcomes(log), log)
		}
		got := sink.Messages()
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
		sink := notifytest.NewSMTPSink(t, "550 no such sender")
		w := worker(t, s, 3, mailChannel("ops-mail", sink))
		j, log := deliver(t, s, w, hotLead("ops-mail"))
		if j.State != jobs.Failed || outcomes(log) != "550 failed" || !strings.Contains(log[0].Error, "no such sender") {
			t.Errorf("%s, log %s %v", j.State, outcomes(log), log)
		}
	})
}
