package main

import (
	"fmt"
	"regexp"
	"strings"
)

// The documents the old comments cited were the project's private design
// notes; their section numbers map onto the sections of the files in docs/.
// Each table maps a section number (or its first component) to a heading of
// one docs file. A number missing from a table cites the file as a whole.

const (
	apiTokensDoc    = "docs/api-tokens.md"
	architectureDoc = "docs/architecture.md"
	goOAuth2Doc     = "docs/go-oauth2.md"
	securityDoc     = "docs/security.md"
)

// djbletsSections: the Djblets behaviour specification.
var djbletsSections = map[string]string{
	"1": "The model",
	"2": "Generators", "2.1": "Generators", "2.2": "Generators", "2.3": "Generators", "2.4": "Generators",
	"3": "Manager operations", "3.1": "Manager operations", "3.2": "Manager operations",
	"3.3": "Manager operations", "3.4": "Manager operations",
	"4": "Policy grammar", "4.1": "Policy grammar", "4.2": "Policy validation", "4.3": "Policy validation",
	"5": "Policy decisions", "5.1": "Policy decisions", "5.2": "Policy decisions", "5.3": "Policy decisions",
	"5.4": "List filtering",
	"6":   "OAuth2 scopes", "6.1": "OAuth2 scopes", "6.2": "OAuth2 scopes", "6.3": "OAuth2 scopes",
	"7": "Authentication", "7.1": "Authentication", "7.2": "Authentication", "7.3": "Authentication",
	"7.4": "Authentication", "7.5": "Authentication",
	"8":  "Errors and codes",
	"9":  "Events",
	"10": "Deliberate differences",
}

// djbletsKeepsQualifier lists the sections whose step and rule numbers the
// docs file numbers the same way, so "step 7" still means something.
var djbletsKeepsQualifier = map[string]bool{
	"4.2": true, "5.1": true, "5.2": true, "6.2": true, "7.1": true,
}

// designSections: the original design card. Its section 6 became the
// deliberate-differences table of docs/api-tokens.md.
var designSections = map[string]cite{
	"2": {architectureDoc, "Package map"},
	"3": {architectureDoc, "Storage and invalidation"},
	"4": {architectureDoc, "The OAuth2 server"},
	"5": {architectureDoc, "Scopes and resources"},
	"6": {apiTokensDoc, "Deliberate differences"},
	"7": {architectureDoc, "Errors"},
	"8": {architectureDoc, "Operations"},
}

// auditSections: the review of go-oauth2 v4.5.4. Its ranked table became
// the numbered findings of docs/go-oauth2.md, and its recommendation the
// numbered list of hooks authgate replaces.
var auditSections = map[string]string{
	"1": "How authgate uses go-oauth2", "2": "Grants and response types", "3": "PKCE",
	"4": "Refresh tokens", "5": "Store contracts", "6": "Token generation", "7": "Error mapping",
	"8": "Client authentication", "9": "Redirect URIs", "10": "What authgate builds itself",
	"11": "Findings and their tests", "12": "Known upstream issues", "13": "Driving it from gin",
	"14": "Version", "15": "Hooks authgate replaces",
}

// checklistSections: the rule of docs/security.md, "RFC 9700 and OAuth 2.1 rules" (3a: RFC 9700 and OAuth 2.1
// rules for the server; 3b: token formats).
var checklistSections = map[string]string{
	"3": "RFC 9700 and OAuth 2.1 rules", "3a": "RFC 9700 and OAuth 2.1 rules", "3b": "Token formats",
}

const findingsTitle = "Findings and their tests"

// cite is a docs file and, optionally, one of its headings.
type cite struct{ file, title string }

func (c cite) String() string {
	if c.title == "" {
		return c.file
	}
	return fmt.Sprintf("%s, %q", c.file, c.title)
}

// Whitespace inside a comment run: a citation may be broken across lines,
// each continuation starting with "//".
const (
	ws    = `(?:\s|//)+`
	wsOpt = `(?:\s|//)*`
)

// A reference to one section, with an optional qualifier ("step 7",
// "rule 2", "item 17", "table rows 1-2").
const (
	secNum     = `§\d+[a-z]?(?:\.\d+)*`
	qualifier  = `(?:` + ws + `(?:table` + ws + `)?(?:steps?|rules?|items?|defects?|rows?)` + ws + `\d+(?:\.\d+)?(?:[–-]\d+)?)?`
	sectionRef = secNum + qualifier
	// A list of references: "§3, §7", "§6.2/§6.3", "§1–§3", "§2.4 /
	// docs/api-tokens.md, "Deliberate differences"".
	listSep = wsOpt + `(?:,|/|–|-|and)` + wsOpt
)

var (
	refRe       = regexp.MustCompile(`§(\d+[a-z]?(?:\.\d+)*)(` + qualifier[3:len(qualifier)-2] + `)?`)
	qualifierRe = regexp.MustCompile(`^` + ws + `(?:table` + ws + `)?(steps?|rules?|items?|defects?|rows?)` + ws + `(\d+(?:\.\d+)?(?:[–-]\d+)?)$`)
	wsRe        = regexp.MustCompile(ws)
)

// rule is one rewrite: re matches an old citation in comment text, and
// repl returns its replacement.
type rule struct {
	name string
	re   *regexp.Regexp
	repl func(m []string) string
}

// sectionList is a regexp for a run of section references.
func sectionList() string {
	return `(` + sectionRef + `(?:` + listSep + sectionRef + `)*)`
}

// auditList also allows "row 5", "rows 1, 2, 5, 7" and "rows 6 and 9".
func auditList() string {
	item := `(?:` + sectionRef + `|rows?` + ws + `\d+(?:` + wsOpt + `(?:,|and)` + wsOpt + `\d+)*)`
	return `(` + item + `(?:` + wsOpt + `,` + wsOpt + item + `)*)`
}

var rules = []rule{
	{"djblets-spec-path", regexp.MustCompile(`spec/djblets-tokens\.md(?:` + ws + sectionList() + `)?('s)?`), func(m []string) string {
		return possessive(renderDjblets(m[1]), m[2], "Djblets'")
	}},
	{"go-oauth2-spec-path", regexp.MustCompile(`spec/go-oauth2-hardening\.md(?:` + ws + auditList() + `)?`), func(m []string) string {
		return renderAudit(m[1])
	}},
	{"checklist-spec-path", regexp.MustCompile(`spec/security-checklist\.md(?:` + ws + sectionList() + `)?`), func(m []string) string {
		return renderChecklist(m[1])
	}},
	{"djblets-section", regexp.MustCompile(`(\()?Djblets` + ws + sectionList() + `(\))?`), func(m []string) string {
		c := renderDjblets(m[2])
		switch {
		case m[1] != "" && m[3] != "":
			return "(Djblets; see " + c + ")"
		default:
			return m[1] + "Djblets (see " + c + ")" + m[3]
		}
	}},
	{"design", regexp.MustCompile(`DESIGN(?:\.md)?(?:` + ws + sectionList() + `)?('s)?`), func(m []string) string {
		return possessive(renderDesign(m[1]), m[2], "authgate's")
	}},
	{"style", regexp.MustCompile(`STYLE\.md(?:` + ws + sectionList() + `)?`), func(m []string) string {
		return cite{architectureDoc, "Storage and invalidation"}.String()
	}},
	{"contracts", regexp.MustCompile(`CONTRACTS\.md`), func(m []string) string {
		return cite{architectureDoc, "Browser sessions"}.String()
	}},
	{"audit", regexp.MustCompile(`(?:go-oauth2` + ws + `)?[Aa]udit(?:'s)?` + ws + auditList()), func(m []string) string {
		return renderAudit(m[1])
	}},
	{"checklist-quoted", regexp.MustCompile(`[Cc]hecklist` + ws + `("[^"\n]+")`), func(m []string) string {
		return cite{securityDoc, checklistSections["3a"]}.String() + ", rule " + m[1]
	}},
	{"checklist-section", regexp.MustCompile(`(?:[Ss]ecurity` + ws + `)?[Cc]hecklist` + ws + sectionList()), func(m []string) string {
		return renderChecklist(m[1])
	}},
	{"checklist-label", regexp.MustCompile(`(?:[Ss]ecurity` + ws + `)?\b[Cc]hecklist\b(:|` + wsOpt + `\()`), func(m []string) string {
		word := "rule of "
		if m[0][0] == 'C' || m[0][0] == 'S' {
			word = "Rule of "
		}
		c := cite{securityDoc, checklistSections["3a"]}.String()
		if m[1] == ":" {
			return word + c + ":"
		}
		return word + c + " ("
	}},
	{"checklist-bare-3ab", regexp.MustCompile(`§(3[ab])\b`), func(m []string) string {
		return cite{securityDoc, checklistSections[m[1]]}.String()
	}},
	{"spec-section", regexp.MustCompile(`\b[Ss]pec` + ws + sectionList() + `('s)?`), func(m []string) string {
		return possessive(renderDjblets(m[1]), m[2], "Djblets'")
	}},
	{"defect-list", regexp.MustCompile(`§10` + ws + `(?:items?|defects?)` + ws + `\d+`), func(m []string) string {
		return cite{apiTokensDoc, djbletsSections["10"]}.String()
	}},
}

// possessive turns "X's" into "<owner> (X)" so the sentence still reads.
func possessive(c, s, owner string) string {
	if s == "" {
		return c
	}
	return owner + " (" + c + ")"
}

// refs splits a run of section references into (number, qualifier) pairs.
// A range ("§1–§3") is reported by ranged.
func refs(list string) (out [][2]string, ranged bool) {
	locs := refRe.FindAllStringSubmatchIndex(list, -1)
	for i, l := range locs {
		out = append(out, [2]string{list[l[2]:l[3]], list[l[3]:l[1]]})
		if i > 0 {
			between := list[locs[i-1][1]:l[0]]
			if strings.ContainsAny(between, "–-") {
				ranged = true
			}
		}
	}
	return out, ranged
}

// render joins the distinct cites of a list; more than two distinct
// sections, or a range, cite the file as a whole.
func render(file string, cites []cite, ranged bool) string {
	var uniq []cite
	seen := map[cite]bool{}
	for _, c := range cites {
		if !seen[c] {
			seen[c] = true
			uniq = append(uniq, c)
		}
	}
	if len(uniq) == 0 || len(uniq) > 2 || ranged {
		return file
	}
	parts := make([]string, len(uniq))
	for i, c := range uniq {
		parts[i] = c.String()
	}
	return strings.Join(parts, "; ")
}

// withQualifier appends a kept qualifier, rendered as `, step 7` after
// the quoted title.
func withQualifier(c cite, q string) cite {
	m := qualifierRe.FindStringSubmatch(q)
	if m == nil || c.title == "" {
		return c
	}
	return cite{c.file, c.title + "\x00" + m[1] + " " + m[2]}
}

func renderDjblets(list string) string {
	rs, ranged := refs(list)
	var cs []cite
	for _, r := range rs {
		num, q := r[0], r[1]
		title, ok := djbletsSections[num]
		if !ok {
			title = djbletsSections[strings.SplitN(num, ".", 2)[0]]
		}
		c := cite{apiTokensDoc, title}
		if djbletsKeepsQualifier[num] {
			c = withQualifier(c, q)
		}
		cs = append(cs, c)
	}
	if len(rs) == 0 {
		return apiTokensDoc
	}
	return unpackQualifiers(render(apiTokensDoc, cs, ranged))
}

func renderDesign(list string) string {
	rs, ranged := refs(list)
	var cs []cite
	for _, r := range rs {
		c, ok := designSections[strings.SplitN(r[0], ".", 2)[0]]
		if !ok {
			c = cite{architectureDoc, ""}
		}
		cs = append(cs, c)
	}
	if len(rs) == 0 {
		return architectureDoc
	}
	return render(architectureDoc, cs, ranged)
}

var rowsRe = regexp.MustCompile(`rows?` + ws + `(\d+(?:` + wsOpt + `(?:,|and)` + wsOpt + `\d+)*)`)

func renderAudit(list string) string {
	if list == "" {
		return goOAuth2Doc
	}
	var cs []cite
	// Rows of the ranked table become numbered findings.
	for _, m := range rowsRe.FindAllStringSubmatch(list, -1) {
		nums := wsRe.ReplaceAllString(m[1], " ")
		word := "finding "
		if strings.ContainsAny(nums, ",a") {
			word = "findings "
		}
		cs = append(cs, cite{goOAuth2Doc, findingsTitle + "\x00" + word + nums})
	}
	rs, ranged := refs(rowsRe.ReplaceAllString(list, ""))
	for _, r := range rs {
		num, q := r[0], r[1]
		major, minor, _ := strings.Cut(num, ".")
		title, ok := auditSections[major]
		if !ok {
			cs = append(cs, cite{goOAuth2Doc, ""})
			continue
		}
		c := cite{goOAuth2Doc, title}
		switch {
		case major == "15" && minor != "":
			c.title += "\x00item " + minor
		case major == "15":
			c = withQualifier(c, q)
		}
		cs = append(cs, c)
	}
	// Rows first in the source order is not kept; put sections first.
	if n := len(cs) - len(rs); n > 0 {
		cs = append(cs[n:], cs[:n]...)
	}
	return unpackQualifiers(render(goOAuth2Doc, cs, ranged))
}

func renderChecklist(list string) string {
	rs, ranged := refs(list)
	var cs []cite
	for _, r := range rs {
		title, ok := checklistSections[r[0]]
		if !ok {
			title = checklistSections["3"]
		}
		cs = append(cs, cite{securityDoc, title})
	}
	if len(rs) == 0 {
		return securityDoc
	}
	return render(securityDoc, cs, ranged)
}

// unpackQualifiers turns the `"Title\x00step 7"` that render quoted back
// into `"Title", step 7`.
func unpackQualifiers(s string) string {
	return qualRe.ReplaceAllString(s, `", $1`)
}

var qualRe = regexp.MustCompile(`\\x00([^"]*)"`)

// Rewrite applies every rule to the text of one comment run and reports
// how many citations it rewrote.
func Rewrite(text string) (string, int) {
	n := 0
	for _, r := range rules {
		text = r.re.ReplaceAllStringFunc(text, func(s string) string {
			n++
			return r.repl(r.re.FindStringSubmatch(s))
		})
	}
	if n > 0 {
		text = dropRepeats(text)
	}
	return text, n
}

// A docs citation with its optional quoted title, and what may separate two
// citations of a list.
var (
	docsCite = regexp.MustCompile(`docs/[a-z0-9-]+\.md(?:, "[^"]+")?`)
	citeSep  = regexp.MustCompile(`^[,;]` + ws + `$`)
)

// dropRepeats removes a citation that repeats the one just before it, as
// when two old documents mapped onto the same docs section.
func dropRepeats(text string) string {
	locs := docsCite.FindAllStringIndex(text, -1)
	for i := len(locs) - 1; i > 0; i-- {
		prev, cur := locs[i-1], locs[i]
		if text[prev[0]:prev[1]] == text[cur[0]:cur[1]] && citeSep.MatchString(text[prev[1]:cur[0]]) {
			text = text[:prev[1]] + text[cur[1]:]
		}
	}
	return text
}
