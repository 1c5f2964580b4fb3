"""Pure networks: generators, discriminators, the scratch detector and the MobileNetV2 backbone."""
