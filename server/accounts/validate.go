package accounts

import (
	"fmt"
	"github.com/parleyhq/parley/server/problem"
	"net/mail"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley/server/settings"
)

var loginPattern = regexp.MustCompile(`^[a-z0-9._-]{1,64}$`)

func checkLogin(login string) error {
	if !loginPattern.MatchString(login) {
		return problem.Field("login", "login must be 1 to 64 characters of a-z, 0-9, '.', '_' and '-'")
	}
	return nil
}

func checkDisplayName(name string) error {
	if strings.TrimSpace(name) != name || name == "" || utf8.RuneCountInString(name) > 100 || !utf8.ValidString(name) {
		return problem.Field("display_name", "display name must be 1 to 100 characters without leading or trailing spaces")
	}
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return problem.Field("display_name", "display name must not contain control characters")
	}
	return nil
}

func checkEmail(email string) error {
	if email == "" {
		return nil
	}
	parsed, err := mail.ParseAddress(email)
	if err != nil || parsed.Address != email || len(email) > 254 {
		return problem.Field("email", "email must be a plain address such as anna@example.com, or empty")
	}
	return nil
}

// maxPasswordBytes bounds the work a sign-in request can ask for.
const maxPasswordBytes = 1024

// CheckPassword applies the password policy.
func CheckPassword(policy settings.PasswordPolicy, password, login string) error {
	if len(password) > maxPasswordBytes {
		return problem.Field("password", "password must be at most %d bytes", maxPasswordBytes)
	}
	if !utf8.ValidString(password) || strings.ContainsRune(password, 0) {
		return problem.Field("password", "password must be valid text")
	}
	if utf8.RuneCountInString(password) < policy.MinLength || CharacterClasses(password) < policy.MinClasses {
		return problem.Field("password", "%s", describePolicy(policy))
	}
	if len(login) >= 3 && strings.Contains(strings.ToLower(password), login) {
		return problem.Field("password", "password must not contain the login")
	}
	return nil
}

// CharacterClasses counts the kinds of characters a password mixes, of
// lower-case letters, upper-case letters, digits and the rest, as the
// policy's MinClasses does.
func CharacterClasses(password string) int {
	var lower, upper, digit, other bool
	for _, r := range password {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	classes := 0
	for _, has := range []bool{lower, upper, digit, other} {
		if has {
			classes++
		}
	}
	return classes
}

func describePolicy(policy settings.PasswordPolicy) string {
	text := fmt.Sprintf("password must have at least %d characters", policy.MinLength)
	if policy.MinClasses > 1 {
		text += fmt.Sprintf(" and %d of: lower-case letters, upper-case letters, digits, other symbols", policy.MinClasses)
	}
	return text
}
