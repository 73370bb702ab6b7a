terraform {
  # No provider: the rules are pure, so `terraform console` can evaluate them offline (the tests do).
  required_version = ">= 1.5"
}
