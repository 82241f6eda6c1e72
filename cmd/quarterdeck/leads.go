package main

import "github.com/spf13/cobra"

// leadsCommand groups lead scoring: point models, the why-log, segments and
// predictive scoring.
func (c cli) leadsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "leads",
		Short: "Lead scoring: point models, explanations, segments and predictions",
	}
	cmd.AddCommand(c.leadsModelCommand(), c.leadsScoreCommand(), c.leadsListCommand(), c.leadsExplainCommand(), c.leadsSegmentsCommand(), c.leadsRouteCommand(), c.leadsRulesCommand(), c.leadsAssignCommand(), c.leadsSLACommand(), c.leadsPoolsCommand(), c.leadsAuditCommand(), c.leadsPredictCommand(), c.leadsPredictiveCommand())
	return cmd
}
