package assets

import (
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"
)

func TestWebHasTheClient(t *testing.T) {
	for _, name := range []string{
		"index.html", "setup.html", "meeting.html", "app.css", "meeting.css",
		"js/api.js", "js/forms.js", "js/clipboard.js", "js/index.js", "js/calls.js", "js/setup.js",
		"js/meeting/meeting.js", "js/meeting/signal.js", "js/meeting/rtc.js", "js/meeting/devices.js",
		"js/meeting/stage.js", "js/meeting/people.js", "js/meeting/chat.js", "js/meeting/prejoin.js",
		"js/meeting/messages.js", "js/meeting/ui.js", "selftest.html", "selftest.css", "js/selftest.js",
		"icons/parley.svg",
	} {
		info, err := fs.Stat(Web(), name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if info.IsDir() || info.Size() == 0 {
			t.Errorf("%s: want a non-empty file", name)
		}
	}
}

// The server sends Content-Security-Policy: default-src 'self', under which
// browsers refuse inline scripts, styles and event handlers without a word
// to the user; this test finds them before a browser does.
func TestPagesObeyTheContentSecurityPolicy(t *testing.T) {
	pages, err := fs.Glob(Web(), "*.html")
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) == 0 {
		t.Fatal("no HTML pages found")
	}
	for _, name := range pages {
		page, err := fs.ReadFile(Web(), name)
		if err != nil {
			t.Fatal(err)
		}
		for _, problem := range cspViolations(string(page)) {
			t.Errorf("%s: %s", name, problem)
		}
	}
}

func TestCSPCheckFindsViolations(t *testing.T) {
	bad := []string{
		`<script>alert(1)</script>`,
		`<SCRIPT type="module">import "/x.js"</SCRIPT>`,
		`<script type="module" src="/a.js">console.log(1)</script>`,
		`<p style="color: red">x</p>`,
		`<p class="a" STYLE = 'color: red'>x</p>`,
		`<style>p { color: red }</style>`,
		`<button onclick="go()">Go</button>`,
		`<body onload=start()>`,
		`<a href="javascript:go()">Go</a>`,
		`<a href=" JavaScript:go()">Go</a>`,
		`<form action="javascript:void 0"></form>`,
	}
	for _, html := range bad {
		if len(cspViolations(html)) == 0 {
			t.Errorf("no violation found in %s", html)
		}
	}
	good := `<!-- <script>old()</script> -->
<script type="module" src="/assets/js/index.js"></script>
<p class="styled" data-onclick="x" title="style=a onclick=b">A button: onclick= is not an attribute here.</p>
<a href="/ca.crt">Trust</a>`
	if problems := cspViolations(good); len(problems) != 0 {
		t.Errorf("violations found in allowed markup: %v", problems)
	}
}

var (
	commentPattern   = regexp.MustCompile(`(?s)<!--.*?-->`)
	tagPattern       = regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9-]*)((?:"[^"]*"|'[^']*'|[^'">])*)>`)
	attrPattern      = regexp.MustCompile(`([^\s"'=<>/]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>` + "`" + `]+))?`)
	scriptPattern    = regexp.MustCompile(`(?is)<script\b[^>]*>(.*?)</script\s*>`)
	scriptTagPattern = regexp.MustCompile(`(?i)<script\b`)
)

// cspViolations lists what default-src 'self' would block in an HTML page.
func cspViolations(html string) []string {
	html = commentPattern.ReplaceAllString(html, "")
	var problems []string
	for _, tag := range tagPattern.FindAllStringSubmatch(html, -1) {
		element := strings.ToLower(tag[1])
		if element == "style" {
			problems = append(problems, "inline <style> element")
		}
		attrs := attributes(tag[2])
		if element == "script" {
			if _, ok := attrs["src"]; !ok {
				problems = append(problems, "<script> without src: "+tag[0])
			}
		}
		for name, value := range attrs {
			switch {
			case name == "style":
				problems = append(problems, "style attribute: "+tag[0])
			case strings.HasPrefix(name, "on"):
				problems = append(problems, "event handler attribute "+name+": "+tag[0])
			case (name == "href" || name == "src" || name == "action" || name == "formaction") &&
				strings.HasPrefix(strings.ToLower(strings.TrimSpace(value)), "javascript:"):
				problems = append(problems, "javascript: URL: "+tag[0])
			}
		}
	}
	for _, script := range scriptPattern.FindAllStringSubmatch(html, -1) {
		if strings.TrimSpace(script[1]) != "" {
			problems = append(problems, "<script> with inline content: "+script[0])
		}
	}
	if n := len(scriptTagPattern.FindAllString(html, -1)); n != len(scriptPattern.FindAllString(html, -1)) {
		problems = append(problems, "a <script> element is not closed")
	}
	return problems
}

// attributes returns a tag's attributes by lower-case name, values unquoted.
func attributes(s string) map[string]string {
	attrs := map[string]string{}
	for _, m := range attrPattern.FindAllStringSubmatch(s, -1) {
		value := m[2]
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') {
			value = value[1 : len(value)-1]
		}
		attrs[strings.ToLower(m[1])] = value
	}
	return attrs
}

var (
	pageRefPattern   = regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`)
	moduleRefPattern = regexp.MustCompile(`(?m)^\s*import\b[^'"]*['"](/assets/[^'"]+)['"]`)
)

// Every /assets/ reference in the pages and modules must name an embedded
// file; a typo would otherwise only show as a 404 in a browser console.
func TestReferencedAssetsExist(t *testing.T) {
	err := fs.WalkDir(Web(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		var pattern *regexp.Regexp
		switch path.Ext(name) {
		case ".html":
			pattern = pageRefPattern
		case ".js":
			pattern = moduleRefPattern
		default:
			return nil
		}
		text, err := fs.ReadFile(Web(), name)
		if err != nil {
			return err
		}
		for _, ref := range pattern.FindAllStringSubmatch(string(text), -1) {
			target := strings.TrimPrefix(ref[1], "/assets/")
			if _, err := fs.Stat(Web(), target); err != nil {
				t.Errorf("%s refers to %s, which is not embedded", name, ref[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
