"""Golden-path engine: Backstage ``scaffolder.backstage.io/v1beta3`` templates run as tasks."""
