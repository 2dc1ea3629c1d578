package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/backchannel/backchannel/internal/demo"
	"github.com/backchannel/backchannel/internal/talks"
)

// seedDemo fills an empty database with the demo talk (package demo) and
// prints a login per demo user to out, and a one-time sign-in link.
func seedDemo(ctx context.Context, store talks.Store, svc *talks.Service, out io.Writer, baseURL string) error {
	d, err := demo.Seed(ctx, store, svc)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nDemo: seeded %q (fictional) with %d users. Open %s/ and sign in as any of them.\n", d.Talk.Title, len(demo.Cast), baseURL)
	fmt.Fprintf(out, "These passwords are printed for the demo only; do not use --demo for real talks.\n\n")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tROLE\tEMAIL\tPASSWORD")
	for _, du := range demo.Cast {
		role := string(du.Role)
		if du.Party != "" {
			role = du.Party + " " + role
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", du.Name, role, du.Email, d.Passwords[du.Key])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nOr open a sign-in link (each works once, for %s):\n\n", talks.DefaultAccountPolicy.LoginLinkTTL)
	for _, du := range demo.Cast {
		tok, err := svc.CreateLoginLink(ctx, d.Users[du.Key].ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "  %s\t%s/login/link?token=%s\n", du.Name, baseURL, tok)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out)
	return nil
}
