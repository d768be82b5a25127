//go:build !linux && !darwin && !windows

package app

// readProcessUsage: this system's figures are not read.
func readProcessUsage() processUsage { return processUsage{} }
