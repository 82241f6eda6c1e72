package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/jackc/pgx/v5"
)

// Several app servers can share one PostgreSQL. Each keeps caches keyed by
// the store's data version (Version), which its own commits bump; so that a
// write on one server also invalidates the others' caches at once, every
// write transaction on PostgreSQL sends a notification on dataChannel as it
// commits, and each server listens on it and bumps its version for every
// notification another server sent. DuckDB files have one process.
const dataChannel = "quarterdeck_data"

// announce sends the write notification inside the transaction q is in:
// PostgreSQL delivers it when, and only if, the transaction commits.
func (s *Store) announce(ctx context.Context, q querier) error {
	if s.instance == "" {
		return nil
	}
	_, err := q.ExecContext(ctx, `SELECT pg_notify('`+dataChannel+`', $1)`, s.instance)
	return err
}

// listenForWrites bumps the version on other servers' notifications until
// stop closes, reconnecting after a failure (and bumping then, since
// notifications may have been missed while disconnected).
func (s *Store) listenForWrites(dsn string, stop <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-stop
		cancel()
	}()
	for wait := time.Second; ctx.Err() == nil; wait = min(2*wait, 30*time.Second) {
		err := s.listenOnce(ctx, dsn)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("listening for other servers' writes", "err", err, "retry_in", wait)
		s.version.Add(1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

func (s *Store) listenOnce(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `LISTEN `+dataChannel); err != nil {
		return err
	}
	s.listening.Store(true)
	defer s.listening.Store(false)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Payload != s.instance {
			s.version.Add(1)
		}
	}
}

// newInstance names this process in its notifications.
func newInstance() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
