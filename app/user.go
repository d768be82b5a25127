package app

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/parleyhq/parley/app/datadir"
	"github.com/parleyhq/parley/server/accounts"
	"github.com/parleyhq/parley/server/eventlog"
)

// user runs `parley user ...`: account administration for whoever can
// open the data directory on the host. These commands work beside a
// running server; SQLite serialises the writes.
func (c *command) user(args []string) error {
	if len(args) == 0 {
		return usageError{"user needs a subcommand: add, list, passwd, disable, enable or unlock"}
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "add", "list", "passwd", "disable", "enable", "unlock":
	default:
		return usageError{fmt.Sprintf("unknown user subcommand %q", sub)}
	}
	set := flag.NewFlagSet("parley user "+sub, flag.ContinueOnError)
	set.SetOutput(c.stderr)
	dataDir := set.String("data", "", "data directory (default: the per-user data folder)")
	var name, email, role *string
	if sub == "add" {
		name = set.String("name", "", "display name (default: the login)")
		email = set.String("email", "", "e-mail address")
		role = set.String("role", "user", "role: owner (only while there is none), admin, security_admin, user")
	}
	// Flags may come before or after the login.
	var positional []string
	for {
		if err := set.Parse(args); err != nil {
			return err
		}
		if set.NArg() == 0 {
			break
		}
		positional = append(positional, set.Arg(0))
		args = set.Args()[1:]
	}
	wantsLogin := sub != "list"
	if wantsLogin && len(positional) != 1 || !wantsLogin && len(positional) != 0 {
		if wantsLogin {
			return usageError{fmt.Sprintf("user %s takes one LOGIN", sub)}
		}
		return usageError{"user list takes no arguments"}
	}

	ctx := context.Background()
	dir, err := datadir.Resolve(*dataDir)
	if err != nil {
		return err
	}
	core, err := openCore(ctx, dir, quietLogger(c.stderr))
	if err != nil {
		return err
	}
	defer core.db.Close()

	switch sub {
	case "list":
		return c.listUsers(ctx, core)
	case "add":
		password, err := c.readNewPassword()
		if err != nil {
			return err
		}
		u, err := core.accounts.Create(ctx, eventlog.Host, accounts.NewUser{
			Login: positional[0], DisplayName: *name, Email: *email, Role: accounts.Role(*role), Password: password,
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "Created %s (%s, id %d).\n", u.Login, u.Role, u.ID)
		return nil
	}
	target, err := core.accounts.UserByLogin(ctx, positional[0])
	if err != nil {
		return fmt.Errorf("%s: %w", positional[0], err)
	}
	switch sub {
	case "passwd":
		password, err := c.readNewPassword()
		if err != nil {
			return err
		}
		if err := core.accounts.SetPassword(ctx, eventlog.Host, target.ID, "", password, 0); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "Password of %s changed; their sessions have ended.\n", target.Login)
	case "disable", "enable":
		enabled := sub == "enable"
		if _, err := core.accounts.Update(ctx, eventlog.Host, target.ID, accounts.UserPatch{Enabled: &enabled}); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s is now %sd.\n", target.Login, sub)
	case "unlock":
		if err := core.accounts.Unlock(ctx, eventlog.Host, target.ID); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s is unlocked.\n", target.Login)
	}
	return nil
}

func (c *command) listUsers(ctx context.Context, core *core) error {
	users, err := core.accounts.List(ctx, accounts.UserFilter{Limit: 1000})
	if err != nil {
		return err
	}
	table := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(table, "ID\tLOGIN\tNAME\tROLE\tSTATE\tEMAIL")
	for _, u := range users {
		state := "enabled"
		switch {
		case !u.Enabled:
			state = "disabled"
		case u.LockedUntil != nil:
			state = "locked until " + u.LockedUntil.Format("15:04")
		}
		fmt.Fprintf(table, "%d\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Login, u.DisplayName, u.Role, state, u.Email)
	}
	return table.Flush()
}

// readNewPassword asks twice on a terminal; from a pipe it reads one line,
// for scripts.
func (c *command) readNewPassword() (string, error) {
	if file, ok := c.stdin.(*os.File); ok && term.IsTerminal(int(file.Fd())) {
		fmt.Fprint(c.stderr, "New password: ")
		first, err := term.ReadPassword(int(file.Fd()))
		fmt.Fprintln(c.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(c.stderr, "Again: ")
		second, err := term.ReadPassword(int(file.Fd()))
		fmt.Fprintln(c.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(first) != string(second) {
			return "", errors.New("the two passwords differ")
		}
		return string(first), nil
	}
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return "", errors.New("no password given on standard input")
	}
	return password, nil
}
