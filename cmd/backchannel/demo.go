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
	if _, err := printDemoLinks(ctx, store, svc, out, baseURL, "Or open a sign-in link"); err != nil {
		return err
	}
	fmt.Fprintln(out)
	return nil
}

// printDemoLinks prints, after intro, a new one-time sign-in link for
// each demo user that the database has, and returns how many it printed.
func printDemoLinks(ctx context.Context, store talks.Store, svc *talks.Service, out io.Writer, baseURL, intro string) (int, error) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	n := 0
	for _, du := range demo.Cast {
		u, err := store.FindUserByEmail(ctx, du.Email)
		if talks.ErrorCode(err) == talks.ENOTFOUND {
			continue
		} else if err != nil {
			return n, err
		}
		tok, err := svc.CreateLoginLink(ctx, u.ID)
		if err != nil {
			return n, err
		}
		if n == 0 {
			fmt.Fprintf(out, "\n%s (each works once, for %s):\n\n", intro, talks.DefaultAccountPolicy.LoginLinkTTL)
		}
		fmt.Fprintf(tw, "  %s\t%s/login/link?token=%s\n", du.Name, baseURL, tok)
		n++
	}
	return n, tw.Flush()
}
