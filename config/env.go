package config

import (
	"fmt"
	"os"
	"strings"

	"github.com/joho/godotenv"
)

// maxEnvFile bounds the .env file read, so that a special file cannot hang
// the loader.
const maxEnvFile = 1 << 20

// envLookup returns a lookup that sees the process environment first and
// then the .env file at path, if there is one: real environment variables
// win, so a deployment can override the file.
func envLookup(path string) (func(string) (string, bool), *Error) {
	data, tooBig, err := readRegular(path, maxEnvFile)
	switch {
	case os.IsNotExist(err):
		return os.LookupEnv, nil
	case err != nil:
		return nil, &Error{File: path, Msg: readError(err)}
	case tooBig:
		return nil, &Error{File: path, Msg: fmt.Sprintf("must be a regular file of at most %d bytes", maxEnvFile)}
	}
	vars, err := godotenv.UnmarshalBytes(data)
	if err != nil {
		return nil, &Error{File: path, Msg: "not a valid .env file (KEY=VALUE lines): " + err.Error()}
	}
	return func(name string) (string, bool) {
		if v, ok := os.LookupEnv(name); ok {
			return v, true
		}
		v, ok := vars[name]
		return v, ok
	}, nil
}

// expand replaces ${VAR} and ${VAR:-default} in s and turns $$ into $.
// ${VAR:-default} uses default when VAR is unset or empty, as the shell
// does. The result is not expanded again, so a value may contain "${"
// safely. A $ followed by anything else is kept as it is.
func expand(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", fmt.Errorf("unterminated ${ (write $$ for a literal $)")
			}
			ref := s[i+2 : i+2+end]
			name, dflt, hasDefault := strings.Cut(ref, ":-")
			if !validEnvName(name) {
				return "", fmt.Errorf("${%s}: %q is not a variable name (letters, digits and _, not starting with a digit)", ref, name)
			}
			v, ok := lookup(name)
			switch {
			case hasDefault && (!ok || v == ""):
				v = dflt
			case !ok:
				return "", fmt.Errorf("environment variable %s is not set (use ${%s:-default} for a default)", name, name)
			}
			b.WriteString(v)
			i += 2 + end
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
