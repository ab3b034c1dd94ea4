"""maya-infra: the deployment pipeline of MAYA/OMEGA for the selected stack (staging or production)."""

import pulumi

from components import config, stack

settings = config.load_from_pulumi()  # raises one clear error listing every problem, before any resource
for name, value in stack.build(settings).items():
    pulumi.export(name, value)
