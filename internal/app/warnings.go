package app

import (
	"os"
)

// WarnAtStart logs what `authgate serve` should tell an operator about
// secrets at rest: signing keys stored unencrypted, and a key-encryption key
// file others may read. See docs/operations-security.md, "Signing keys at
// rest".
func (a *App) WarnAtStart() {
	keys := a.OAuth.Keys
	if n := keys.PlaintextKeys(); n > 0 {
		if keys.Encrypting() {
			a.Logger.Warn("signing keys are stored unencrypted; encrypt them with `authgate key encrypt`", "count", n)
		} else {
			a.Logger.Warn("signing keys are stored unencrypted in the database: anyone who reads it can mint tokens; "+
				"set oauth.key_encryption_key_file (or AUTHGATE_OAUTH__KEY_ENCRYPTION_KEY) and run `authgate key encrypt`", "count", n)
		}
	}
	if f := a.Config.OAuth.KeyEncryptionKeyFile; f != "" {
		if fi, err := os.Stat(f); err == nil && fi.Mode().Perm()&0o077 != 0 {
			a.Logger.Warn("the key-encryption key file is readable by other users; restrict it with chmod 600", "file", f)
		}
	}
}
