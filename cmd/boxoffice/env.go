package main

import (
	"flag"
	"os"
	"strings"
)

// envDefault lets every flag also come from BOXOFFICE_<NAME> (dashes become
// underscores); a flag given on the command line wins.
func envDefaults(fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		key := "BOXOFFICE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(key); ok {
			_ = f.Value.Set(v)
		}
	})
}
