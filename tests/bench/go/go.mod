module numapin.invalid/bench

go 1.19
