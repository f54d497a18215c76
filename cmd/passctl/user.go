package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/passd/passd/internal/config"
	"github.com/passd/passd/internal/console"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
)

// user runs the 'user' commands: the merchant console's staff accounts.
func user(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	switch {
	case len(args) >= 1 && args[0] == "create":
		return userCreate(ctx, args[1:], getenv, stdin, stdout, stderr)
	case len(args) == 1 && args[0] == "list":
		return userList(ctx, getenv, stdout)
	case len(args) == 2 && args[0] == "disable":
		return userDisable(ctx, args[1], getenv, stderr)
	case len(args) == 2 && args[0] == "reset":
		return userReset(ctx, args[1], getenv, stdout, stderr)
	}
	return 2, fmt.Errorf("user: the commands are 'user create', 'user list', 'user disable ID|EMAIL' and 'user reset ID|EMAIL': %w", errUsage)
}

// readPassword reads the password from the first line of stdin; "" when
// there is no stdin or it is empty.
func readPassword(stdin io.Reader) (string, error) {
	if stdin == nil {
		return "", nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, loyalty.MaxPasswordBytes+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func userCreate(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("user create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email := fs.String("email", "", "the user's email, used to sign in")
	role := fs.String("role", "", "pos, merchant or admin")
	prog := fs.String("program", "", "the programme of a pos or merchant user")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return 2, fmt.Errorf("user create: bad arguments: %w", errUsage)
	}
	u := loyalty.StaffUser{ID: loyalty.NewStaffUserID(), Email: *email, Role: *role, Program: *prog}
	if err := loyalty.ValidateStaffUser(u); err != nil {
		return 2, fmt.Errorf("user create: %v: %w", err, errUsage)
	}
	u.Email, _ = loyalty.NormalizeStaffEmail(u.Email)
	password, err := readPassword(stdin)
	if err != nil {
		return 1, err
	}
	if password != "" {
		if err := loyalty.ValidatePassword(password); err != nil {
			return 1, fmt.Errorf("user create: %w", err)
		}
		if u.PasswordHash, err = loyalty.HashPassword(password, loyalty.DefaultPasswordParams); err != nil {
			return 1, err
		}
	}
	return withStore(ctx, getenv, func(cfg config.Config, st *store.Store) error {
		if u.Program != "" {
			if err := programExists(ctx, cfg, st, u.Program); err != nil {
				return fmt.Errorf("user create: --program: %w", err)
			}
		}
		if err := st.CreateStaffUser(ctx, u); err != nil {
			if errors.Is(err, store.ErrDuplicate) {
				return fmt.Errorf("user create: a user with email %s exists already", u.Email)
			}
			return err
		}
		fmt.Fprintf(stderr, "created user %s (%s, role %s)\n", u.ID, u.Email, u.Role)
		if u.PasswordHash != "" {
			fmt.Fprintf(stdout, "%s\n", u.ID)
			return nil
		}
		link, err := console.SetPasswordLink(ctx, st, cfg.PublicURL, u.ID, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, link)
		fmt.Fprintf(stderr, "no password on stdin: give the user this one-time link to choose one (valid %v)\n", console.SetPasswordTTL)
		return nil
	})
}

// findUser answers the user named by id or email.
func findUser(ctx context.Context, st *store.Store, ref string) (loyalty.StaffUser, error) {
	if strings.Contains(ref, "@") {
		return st.StaffUserByEmail(ctx, strings.ToLower(strings.TrimSpace(ref)))
	}
	return st.StaffUser(ctx, ref)
}

func userList(ctx context.Context, getenv func(string) string, stdout io.Writer) (int, error) {
	return withStore(ctx, getenv, func(_ config.Config, st *store.Store) error {
		users, err := st.StaffUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEMAIL\tROLE\tPROGRAM\tCREATED\tPASSWORD\tDISABLED")
		for _, u := range users {
			disabled, password := "-", "set"
			if u.DisabledAt != nil {
				disabled = u.DisabledAt.UTC().Format(time.RFC3339)
			}
			if u.PasswordHash == "" {
				password = "not yet"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, u.Role, cmp.Or(u.Program, "*"),
				u.CreatedAt.UTC().Format(time.RFC3339), password, disabled)
		}
		return tw.Flush()
	})
}

// userDisable disables a user; their sessions end at once.
func userDisable(ctx context.Context, ref string, getenv func(string) string, stderr io.Writer) (int, error) {
	return withStore(ctx, getenv, func(_ config.Config, st *store.Store) error {
		u, err := findUser(ctx, st, ref)
		if err != nil {
			return fmt.Errorf("user disable %s: %w", ref, err)
		}
		if err := st.DisableStaffUser(ctx, u.ID); err != nil {
			return fmt.Errorf("user disable %s: %w", ref, err)
		}
		fmt.Fprintf(stderr, "disabled user %s; their sessions have ended\n", u.ID)
		return nil
	})
}

// userReset prints a one-time set-password link; the current password
// keeps working until the link is used.
func userReset(ctx context.Context, ref string, getenv func(string) string, stdout, stderr io.Writer) (int, error) {
	return withStore(ctx, getenv, func(cfg config.Config, st *store.Store) error {
		u, err := findUser(ctx, st, ref)
		if err != nil {
			return fmt.Errorf("user reset %s: %w", ref, err)
		}
		if u.DisabledAt != nil {
			return fmt.Errorf("user reset %s: the user is disabled", ref)
		}
		link, err := console.SetPasswordLink(ctx, st, cfg.PublicURL, u.ID, time.Now())
		if err != nil {
			return fmt.Errorf("user reset %s: %w", ref, err)
		}
		fmt.Fprintln(stdout, link)
		fmt.Fprintf(stderr, "one-time link for %s (valid %v); using it ends the user's sessions\n", u.ID, console.SetPasswordTTL)
		return nil
	})
}
