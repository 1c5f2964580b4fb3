"""Training: datasets, tasks, the GAN trainer and its helpers."""
