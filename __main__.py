"""maya-infra: the deployment pipeline of MAYA/OMEGA for the selected stack (staging or production)."""

import pulumi

import config
import program

settings = config.load_from_pulumi()  # raises one clear error listing every problem, before any resource
for name, value in program.build(settings).items():
    pulumi.export(name, value)
