package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

func (c cli) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of quarterdeck and of Go it was built with",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(c.stdout, "quarterdeck %s (%s)\n", version, runtime.Version())
			return nil
		},
	}
}
