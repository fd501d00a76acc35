module oninline

go 1.26.0

require bounded.dev v0.0.0-00010101000000-000000000000

require (
	golang.org/x/arch v0.32.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)

replace bounded.dev => ../../../..
