package redistest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// InstallCommands are what a fresh Debian or Ubuntu machine needs, as
// EnsureInstalled runs them (scripts/test-deps does the same).
const InstallCommands = "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server && (service redis-server stop || true)"

// InstallTimeout bounds apt-get update + install.
const InstallTimeout = 10 * time.Minute

var (
	installOnce sync.Once
	installErr  error
	serverBin   = "redis-server"
	cliBin      = "redis-cli"
)

// EnsureInstalled finds redis-server and redis-cli, installing Debian's
// redis-server package with apt-get when they are missing. It runs once per
// process; concurrent test binaries serialize on a lock file.
func EnsureInstalled() error {
	installOnce.Do(func() { installErr = ensureInstalled() })
	return installErr
}

func ensureInstalled() error {
	if lookBins() == nil {
		return nil
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("%w: no redis-server and no apt-get; install Redis ≥ 7 yourself", ErrUnavailable)
	}
	unlock, err := lockFile(filepath.Join(os.TempDir(), "boxoffice-redistest-install.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	if lookBins() == nil { // another process installed it meanwhile
		return nil
	}
	var sudo []string
	if os.Geteuid() != 0 {
		if _, err := exec.LookPath("sudo"); err != nil {
			return fmt.Errorf("%w: not root and no sudo; run as root: %s", ErrUnavailable, InstallCommands)
		}
		sudo = []string{"sudo", "-n"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), InstallTimeout)
	defer cancel()
	steps := [][]string{
		{"apt-get", "update", "-qq"},
		{"apt-get", "install", "-y", "-qq", "-o", "DPkg::Lock::Timeout=300", "redis-server"},
	}
	for _, step := range steps {
		cmd := exec.CommandContext(ctx, append(sudo, step...)[0], append(sudo, step...)[1:]...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%w: %v: %v\n%s\nrun as root: %s", ErrUnavailable, step, err, tail(out.String(), 2000), InstallCommands)
		}
	}
	stopPackagedServer(ctx, sudo)
	if err := lookBins(); err != nil {
		return fmt.Errorf("%w: installed redis-server but %v", ErrUnavailable, err)
	}
	return nil
}

// stopPackagedServer stops the server the Debian package may have started on
// 6379: tests start their own.
func stopPackagedServer(ctx context.Context, sudo []string) {
	for _, step := range [][]string{
		{"systemctl", "disable", "--now", "redis-server"},
		{"service", "redis-server", "stop"},
	} {
		if _, err := exec.LookPath(step[0]); err != nil {
			continue
		}
		full := append(append([]string(nil), sudo...), step...)
		_ = exec.CommandContext(ctx, full[0], full[1:]...).Run()
	}
}

// lookBins resolves redis-server and redis-cli, also in /usr/bin and
// /usr/sbin in case PATH lacks them.
func lookBins() error {
	for _, b := range []*string{&serverBin, &cliBin} {
		name := filepath.Base(*b)
		if p, err := exec.LookPath(name); err == nil {
			*b = p
			continue
		}
		found := false
		for _, dir := range []string{"/usr/bin", "/usr/sbin", "/usr/local/bin"} {
			p := filepath.Join(dir, name)
			if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
				*b, found = p, true
				break
			}
		}
		if !found {
			return fmt.Errorf("%s not found", name)
		}
	}
	return nil
}

// lockFile takes an exclusive flock on path and returns its release.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("redistest: lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("redistest: lock %s: %w", path, err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
