package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/spf13/cobra"
)

// The users commands act as crm.System: they run on the server's own machine
// with direct access to the database.

func (c cli) usersCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "users",
		Short: "Add, list and disable users; create, list and revoke API tokens; log users out",
	}
	cmd.AddCommand(c.usersAddCommand(), c.usersListCommand(), c.usersDisableCommand(), c.usersTokenCommand(),
		c.usersTokensCommand(), c.usersRevokeTokenCommand(), c.usersLogoutCommand(), c.usersAvailabilityCommand())
	return cmd
}

func (c cli) usersAddCommand() *cobra.Command {
	var name, role, hireDate, password string
	var teamID, managerID int64
	cmd := &cobra.Command{
		Use:   "add EMAIL",
		Short: "Add an active user",
		Long: `Add an active user with a password: --password, else the environment
variable QUARTERDECK_PASSWORD, else a generated one, printed once.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			u := crm.User{Email: strings.TrimSpace(args[0]), Name: name, Role: crm.Role(role), Active: true}
			flags := cmd.Flags()
			if flags.Changed("team-id") {
				u.TeamID = &teamID
			}
			if flags.Changed("manager-id") {
				u.ManagerID = &managerID
			}
			probs := crm.NewProblems("user")
			probs.Merge(u.Validate())
			if hireDate != "" {
				d, err := crm.ParseDate(hireDate)
				if err != nil {
					probs.Add("hire_date", "%v", err)
				} else {
					u.HireDate = &d
				}
			}
			generated := false
			if !flags.Changed("password") {
				password = c.getenv("QUARTERDECK_PASSWORD")
			}
			if password == "" {
				var err error
				if password, err = generatePassword(); err != nil {
					return err
				}
				generated = true
			}
			if err := checkPassword(password); err != nil {
				probs.Add("password", "%v", err)
			}
			if err := probs.Err(); err != nil {
				return err
			}

			s, cfg, err := c.openStore(cmd)
			if err != nil {
				return err
			}
			defer s.Close()
			if err := addUser(cmd.Context(), s, &u, password); err != nil {
				return err
			}
			if !cfg.Quiet {
				fmt.Fprintf(c.stdout, "created user %d %s (%s)\n", u.ID, u.Email, u.Role)
			}
			if generated {
				fmt.Fprintf(c.stdout, "password: %s\n", password)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "full name (required)")
	f.StringVar(&role, "role", "", "role: "+roleNames())
	f.Int64Var(&teamID, "team-id", 0, "id of the user's team")
	f.Int64Var(&managerID, "manager-id", 0, "id of the user's manager")
	f.StringVar(&hireDate, "hire-date", "", "hire date, YYYY-MM-DD")
	f.StringVar(&password, "password", "", "password (visible to ps; prefer QUARTERDECK_PASSWORD)")
	return cmd
}

// addUser creates u and sets its password.
func addUser(ctx context.Context, s *store.Store, u *crm.User, password string) error {
	return s.CreateUser(ctx, crm.System, u, password)
}

func roleNames() string {
	names := make([]string, len(crm.Roles))
	for i, r := range crm.Roles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

// generatePassword returns 24 random URL-safe characters (144 bits).
func generatePassword() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func (c cli) usersListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List all users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, _, err := c.openStore(cmd)
			if err != nil {
				return err
			}
			defer s.Close()
			users, err := allUsers(cmd.Context(), s)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, users)
			}
			return writeUserTable(c.stdout, users)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

func allUsers(ctx context.Context, s *store.Store) ([]crm.User, error) {
	users := []crm.User{}
	q := store.ListQuery{Limit: store.MaxPageSize}
	for {
		page, err := s.Users.List(ctx, crm.System, q)
		if err != nil {
			return nil, err
		}
		users = append(users, page.Items...)
		if page.Next == 0 {
			return users, nil
		}
		q.After = page.Next
	}
}

func writeUserTable(w io.Writer, users []crm.User) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tROLE\tACTIVE\tTEAM\tMANAGER\tHIRED")
	for _, u := range users {
		hired := "-"
		if u.HireDate != nil {
			hired = u.HireDate.String()
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%t\t%s\t%s\t%s\n",
			u.ID, u.Email, u.Name, u.Role, u.Active, optionalID(u.TeamID), optionalID(u.ManagerID), hired)
	}
	return tw.Flush()
}

func optionalID(id *int64) string {
	if id == nil {
		return "-"
	}
	return strconv.FormatInt(*id, 10)
}

func (c cli) usersDisableCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "disable EMAIL",
		Short: "Disable a user: no more logins, sessions or API tokens",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, cfg, err := c.openStore(cmd)
			if err != nil {
				return err
			}
			defer s.Close()
			ctx := cmd.Context()
			u, err := s.UserByEmail(ctx, args[0])
			if err != nil {
				return err
			}
			if _, err := s.Users.Update(ctx, crm.System, u.ID, func(u *crm.User) error {
				u.Active = false
				return nil
			}); err != nil {
				return err
			}
			if !cfg.Quiet {
				fmt.Fprintf(c.stdout, "disabled user %d %s\n", u.ID, u.Email)
			}
			return nil
		},
	}
}

func (c cli) usersTokenCommand() *cobra.Command {
	var name string
	var days int
	cmd := &cobra.Command{
		Use:   "token EMAIL",
		Short: "Create a named API token that expires, and print it (only the token)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withUser(cmd, args[0], func(ctx context.Context, s *store.Store, _ Config, u *crm.User) error {
				if !u.Active {
					return fmt.Errorf("user %s is disabled: a token would not work", u.Email)
				}
				tok, _, err := s.CreateAPIToken(ctx, crm.System, u.ID, name, time.Duration(days)*24*time.Hour)
				if err != nil {
					return fmt.Errorf("create token for %s: %w", u.Email, err)
				}
				fmt.Fprintln(c.stdout, tok)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&name, "name", "cli", "what the token is for")
	cmd.Flags().IntVar(&days, "expires-days", int(store.DefaultTokenTTL.Hours()/24), fmt.Sprintf("days until it expires (at most %d)", int(store.MaxTokenTTL.Hours()/24)))
	return cmd
}

func (c cli) usersTokensCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "tokens EMAIL",
		Short: "List a user's API tokens: id, name, created, expires, last used, status",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withUser(cmd, args[0], func(ctx context.Context, s *store.Store, _ Config, u *crm.User) error {
				list, err := s.APITokens(ctx, crm.System, u.ID)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNAME\tCREATED\tEXPIRES\tLAST USED\tSTATUS")
				day := func(t *time.Time) string {
					if t == nil {
						return "-"
					}
					return t.UTC().Format("2006-01-02 15:04")
				}
				for _, t := range list {
					status := "active"
					switch {
					case t.RevokedAt != nil:
						status = "revoked"
					case t.ExpiresAt != nil && !t.ExpiresAt.After(time.Now()):
						status = "expired"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, day(&t.CreatedAt), day(t.ExpiresAt), day(t.LastUsedAt), status)
				}
				return tw.Flush()
			})
		},
	}
}

func (c cli) usersRevokeTokenCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke-token EMAIL TOKEN-ID",
		Short: "Revoke one of a user's API tokens for good (ids as 'users tokens' lists them)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withUser(cmd, args[0], func(ctx context.Context, s *store.Store, cfg Config, u *crm.User) error {
				if err := s.RevokeAPIToken(ctx, crm.System, u.ID, args[1]); err != nil {
					return err
				}
				if !cfg.Quiet {
					fmt.Fprintf(c.stdout, "revoked token %s of %s\n", args[1], u.Email)
				}
				return nil
			})
		},
	}
}

func (c cli) usersLogoutCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "logout EMAIL",
		Short: "Log a user out of every browser (their API tokens keep working)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withUser(cmd, args[0], func(ctx context.Context, s *store.Store, cfg Config, u *crm.User) error {
				n, err := s.EndAllSessions(ctx, crm.System, u.ID)
				if err != nil {
					return err
				}
				if !cfg.Quiet {
					fmt.Fprintf(c.stdout, "ended %d sessions of %s\n", n, u.Email)
				}
				return nil
			})
		},
	}
}

// withUser opens the store and finds the user by email for fn.
func (c cli) withUser(cmd *cobra.Command, email string, fn func(ctx context.Context, s *store.Store, cfg Config, u *crm.User) error) error {
	s, cfg, err := c.openStore(cmd)
	if err != nil {
		return err
	}
	defer s.Close()
	u, err := s.UserByEmail(cmd.Context(), email)
	if err != nil {
		return err
	}
	return fn(cmd.Context(), s, cfg, u)
}
