package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (c cli) migrateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations and print the schema version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, _, err := c.openStore(cmd) // Open applies the migrations
			if err != nil {
				return err
			}
			defer s.Close()
			v, err := s.SchemaVersion(cmd.Context())
			if err != nil {
				return fmt.Errorf("read schema version: %w", err)
			}
			fmt.Fprintf(c.stdout, "%s schema version %d\n", s.Engine(), v)
			return nil
		},
	}
}
