package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/cas-proxy/cas/api"
)

// completeTimeout bounds how long shell completion waits for casd.
const completeTimeout = 2 * time.Second

// completeNames completes the first argument with names casd knows (IdPs,
// CAs, apps…). Without casd there are simply no suggestions.
func completeNames(f *Factory, list func(context.Context, *api.Client) ([]string, error)) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return listNames(cmd, f, list), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeFlagNames completes a flag's value with names casd knows.
func completeFlagNames(f *Factory, list func(context.Context, *api.Client) ([]string, error)) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return listNames(cmd, f, list), cobra.ShellCompDirectiveNoFileComp
	}
}

func listNames(cmd *cobra.Command, f *Factory, list func(context.Context, *api.Client) ([]string, error)) []cobra.Completion {
	c, err := f.Client()
	if err != nil {
		return nil
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, completeTimeout)
	defer cancel()
	names, err := list(ctx, c)
	if err != nil {
		return nil
	}
	return names
}

// fixedValues completes a flag from a fixed set.
func fixedValues(values ...string) cobra.CompletionFunc {
	return cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
}

func idpNames(ctx context.Context, c *api.Client) ([]string, error) {
	xs, err := c.IdPs(ctx)
	return mapNames(xs, func(x api.IdP) string { return x.Name }), err
}

func caNames(ctx context.Context, c *api.Client) ([]string, error) {
	xs, err := c.CAs(ctx)
	return mapNames(xs, func(x api.CA) string { return x.Name }), err
}

func iptagNames(ctx context.Context, c *api.Client) ([]string, error) {
	xs, err := c.IPTags(ctx)
	return mapNames(xs, func(x api.IPTag) string { return x.Name }), err
}

func appNames(ctx context.Context, c *api.Client) ([]string, error) {
	xs, err := c.Apps(ctx)
	return mapNames(xs, func(x api.App) string { return x.Name }), err
}

func templateNames(ctx context.Context, c *api.Client) ([]string, error) {
	xs, err := c.Catalog(ctx)
	return mapNames(xs, func(x api.Template) string { return x.Name }), err
}

func policyNames(ctx context.Context, c *api.Client) ([]string, error) {
	xs, err := c.Policies(ctx)
	return mapNames(xs, func(x api.PolicyInfo) string { return x.Name }), err
}

func mapNames[T any](xs []T, name func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = name(x)
	}
	return out
}
