package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/notify"
	"github.com/spf13/cobra"
)

// notifyReceiveCommand is a webhook receiver to try alerts with, on one's
// own machine: it checks each request's signature as a real receiver must
// and prints what arrived.
func (c cli) notifyReceiveCommand() *cobra.Command {
	var addr, secretEnv string
	cmd := &cobra.Command{
		Use:   "receive --addr 127.0.0.1:9099 --secret-env NAME",
		Short: "A local webhook receiver: verify each delivery's signature and print it (to try alerts)",
		Long: `Listen for Quarterdeck's webhook deliveries, verify each one's HMAC-SHA256
signature and timestamp with the channel's secret (read from the environment
variable --secret-env names, as a channel's secret_env), answer 204 to a good one
and 401 to any other, and print one line per delivery: event, title, text.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			secret := c.getenv(secretEnv)
			if secret == "" {
				return crm.Invalid("receiver", "secret-env", fmt.Sprintf("the environment variable %q is empty: set it to the channel's secret", secretEnv))
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "receiving webhooks on http://%s/\n", ln.Addr())
			srv := &http.Server{Handler: receiver(secret, c.stdout), ReadHeaderTimeout: 5 * time.Second}
			go func() {
				<-cmd.Context().Done()
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				srv.Shutdown(ctx)
			}()
			if err := srv.Serve(ln); err != http.ErrServerClosed {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:9099", "listen address")
	cmd.Flags().StringVar(&secretEnv, "secret-env", "QUARTERDECK_WEBHOOK_SECRET", "environment variable holding the channel's secret")
	return cmd
}

func receiver(secret string, out io.Writer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil || r.Method != http.MethodPost {
			http.Error(w, "a webhook is a POST of at most 1 MB", http.StatusBadRequest)
			return
		}
		if err := notify.Verify(secret, r.Header, body, time.Now(), 5*time.Minute); err != nil {
			fmt.Fprintf(out, "refused a request from %s: %v\n", r.RemoteAddr, err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var msg struct {
			Event string `json:"event"`
			Title string `json:"title"`
			Text  string `json:"text"`
			Link  string `json:"link"`
		}
		if err := json.Unmarshal(body, &msg); err != nil {
			http.Error(w, "not JSON", http.StatusBadRequest)
			return
		}
		fmt.Fprintf(out, "%s  %s  %s — %s  %s\n", time.Now().UTC().Format("15:04:05"), msg.Event, msg.Title, msg.Text, msg.Link)
		w.WriteHeader(http.StatusNoContent)
	})
}
