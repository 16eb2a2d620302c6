// SPDX-License-Identifier: MIT
// The least a Go hook that pins a container does: reads the OCI state from
// stdin, reads the bundle's config.json, sets linux.resources.cpu.cpus and
// .mems (the arguments) and replaces config.json atomically (a temporary file
// beside it, then rename). Every other field is kept.
// usage: cpuset-hook CPUS MEMS < OCI-state-JSON
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

type state struct {
	ID     string `json:"id"`
	Bundle string `json:"bundle"`
}

// object returns m[key] as an object, adding an empty one where it is missing.
func object(m map[string]interface{}, key string) (map[string]interface{}, error) {
	v, ok := m[key]
	if !ok || v == nil {
		o := map[string]interface{}{}
		m[key] = o
		return o, nil
	}
	o, ok := v.(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("%s: not an object", key)
	}
	return o, nil
}

func run(cpus, mems string) error {
	input, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
	if err != nil {
		return fmt.Errorf("state on stdin: %w", err)
	}
	var st state
	if err := json.Unmarshal(input, &st); err != nil {
		return fmt.Errorf("state on stdin: %w", err)
	}
	if st.Bundle == "" {
		return fmt.Errorf("state on stdin: no bundle")
	}
	path := filepath.Join(st.Bundle, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	// numbers as they are written (a limit over 2^53 stays exact)
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.UseNumber()
	var spec map[string]interface{}
	if err := decoder.Decode(&spec); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	linux, err := object(spec, "linux")
	if err != nil {
		return err
	}
	resources, err := object(linux, "resources")
	if err != nil {
		return err
	}
	cpu, err := object(resources, "cpu")
	if err != nil {
		return err
	}
	cpu["cpus"] = cpus
	cpu["mems"] = mems
	out, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(st.Bundle, ".config.json.*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(info.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: cpuset-hook CPUS MEMS < OCI-state-JSON")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintf(os.Stderr, "cpuset-hook: %v\n", err)
		os.Exit(1)
	}
}
