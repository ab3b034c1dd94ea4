"""Every GraphQL document the Railway provider sends, in one place.

Each document is named (Railway's logs and our fake count requests by operation name) and is checked
against Railway's public schema by the tests. Each one also says how it may be retried (``idempotent``):

* queries, and mutations that set a value (updates, renames, upserts, schedule sets, deletes — a repeated
  delete answers "not found", which a delete treats as done), are **idempotent**: the client retries them
  on 5xx, timeouts, dropped connections and Railway's generic "Problem processing request";
* every other mutation — creates, deploys, redeploys, rollbacks, backup creates and restores, token
  creates, template deploys — is **not**: when its answer is lost the client raises
  :class:`~components.railway.errors.AmbiguousResultError` and the caller must read before sending it
  again (``RailwayProvider.create_exactly_once`` / :mod:`components.railway.exactly_once`).

A mutation must say which it is (``idempotent=True`` or not at all); the safe default is "not idempotent".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Operation:
    name: str
    document: str
    #: May the client send it again when its answer was lost? (queries always may)
    idempotent: bool = True

    @property
    def is_mutation(self) -> bool:
        return self.document.lstrip().startswith("mutation")

    @property
    def creates(self) -> bool:
        """A mutation whose repetition would make a second object (or a second deploy/rollback/backup)."""
        return self.is_mutation and not self.idempotent

    @property
    def root_field(self) -> str:
        """The first field the document selects at its root (``projectCreate``, ``deploymentRollback``...)."""
        return self.document.split("{", 1)[1].split("(", 1)[0].split("{", 1)[0].split()[0]


def _op(document: str, *, idempotent: bool | None = None) -> Operation:
    """Queries are idempotent; a mutation is idempotent only when it says so."""
    head = document.split("(", 1)[0].split("{", 1)[0].split()
    is_query = head[0] == "query"
    return Operation(name=head[1], document=" ".join(document.split()), idempotent=is_query or bool(idempotent))


# ---- projects ---------------------------------------------------------------------------------------
PROJECT_CREATE = _op(
    """mutation ProjectCreate($input: ProjectCreateInput!) {
      projectCreate(input: $input) { id name description workspaceId
        environments { edges { node { id name } } } } }"""
)
PROJECT = _op(
    """query Project($id: String!) {
      project(id: $id) { id name description workspaceId deletedAt
        environments(first: 100) { edges { node { id name } } }
        services(first: 100) { edges { node { id name } } } } }"""
)
PROJECTS = _op(
    """query Projects($workspaceId: String, $after: String) {
      projects(workspaceId: $workspaceId, first: 100, after: $after) {
        edges { node { id name description workspaceId
          environments(first: 100) { edges { node { id name
            serviceInstances(first: 100) { edges { node { serviceId serviceName rootDirectory source { repo } } } }
          } } } } }
        pageInfo { hasNextPage endCursor } } }"""
)
# The workspaces the token may act in (a project without a workspace takes the token's only one).
API_TOKEN_WORKSPACES = _op("query ApiTokenWorkspaces { apiToken { workspaces { id name } } }")
PROJECT_UPDATE = _op(
    """mutation ProjectUpdate($id: String!, $input: ProjectUpdateInput!) {
      projectUpdate(id: $id, input: $input) { id name description } }""",
    idempotent=True,
)
PROJECT_DELETE = _op("mutation ProjectDelete($id: String!) { projectDelete(id: $id) }", idempotent=True)

# ---- environments -------------------------------------------------------------------------------------
ENVIRONMENT_CREATE = _op(
    """mutation EnvironmentCreate($input: EnvironmentCreateInput!) {
      environmentCreate(input: $input) { id name projectId } }"""
)
ENVIRONMENT = _op(
    """query Environment($id: String!) {
      environment(id: $id) { id name projectId deletedAt unmergedChangesCount } }"""
)
ENVIRONMENTS = _op(
    """query Environments($projectId: String!) {
      environments(projectId: $projectId, first: 100) { edges { node { id name
        serviceInstances(first: 100) { edges { node { serviceId rootDirectory source { repo } } } } } } } }"""
)
ENVIRONMENT_RENAME = _op(
    """mutation EnvironmentRename($id: String!, $input: EnvironmentRenameInput!) {
      environmentRename(id: $id, input: $input) { id name } }""",
    idempotent=True,
)
ENVIRONMENT_DELETE = _op("mutation EnvironmentDelete($id: String!) { environmentDelete(id: $id) }", idempotent=True)

# ---- services -----------------------------------------------------------------------------------------
SERVICE_CREATE = _op(
    """mutation ServiceCreate($input: ServiceCreateInput!) {
      serviceCreate(input: $input) { id name projectId } }"""
)
SERVICE = _op("query Service($id: String!) { service(id: $id) { id name projectId deletedAt } }")
SERVICE_UPDATE = _op(
    """mutation ServiceUpdate($id: String!, $input: ServiceUpdateInput!) {
      serviceUpdate(id: $id, input: $input) { id name } }""",
    idempotent=True,
)
SERVICE_DELETE = _op("mutation ServiceDelete($id: String!) { serviceDelete(id: $id) }", idempotent=True)

# ---- service instance settings (per environment) --------------------------------------------------------
SERVICE_INSTANCE = _op(
    """query ServiceInstance($serviceId: String!, $environmentId: String!) {
      serviceInstance(serviceId: $serviceId, environmentId: $environmentId) {
        id serviceId environmentId source { image repo } buildCommand rootDirectory startCommand
        preDeployCommand healthcheckPath healthcheckTimeout numReplicas region restartPolicyType
        restartPolicyMaxRetries cronSchedule } }"""
)
SERVICE_INSTANCE_UPDATE = _op(
    """mutation ServiceInstanceUpdate($serviceId: String!, $environmentId: String!,
        $input: ServiceInstanceUpdateInput!) {
      serviceInstanceUpdate(serviceId: $serviceId, environmentId: $environmentId, input: $input) }""",
    idempotent=True,
)

# ---- variables ------------------------------------------------------------------------------------------
VARIABLES = _op(
    """query Variables($projectId: String!, $environmentId: String!, $serviceId: String) {
      variables(projectId: $projectId, environmentId: $environmentId, serviceId: $serviceId, unrendered: true) }"""
)
VARIABLE_COLLECTION_UPSERT = _op(
    """mutation VariableCollectionUpsert($input: VariableCollectionUpsertInput!) {
      variableCollectionUpsert(input: $input) }""",
    idempotent=True,
)
VARIABLE_DELETE = _op(
    "mutation VariableDelete($input: VariableDeleteInput!) { variableDelete(input: $input) }",
    idempotent=True,  # a repeated delete answers "not found", which the caller treats as done
)

# ---- domains --------------------------------------------------------------------------------------------
DOMAINS = _op(
    """query Domains($projectId: String!, $environmentId: String!, $serviceId: String!) {
      domains(projectId: $projectId, environmentId: $environmentId, serviceId: $serviceId) {
        serviceDomains { id domain suffix targetPort }
        customDomains { id domain targetPort
          status { verified verificationDnsHost verificationToken certificateStatus
            dnsRecords { recordType hostlabel fqdn zone requiredValue currentValue status } } } } }"""
)
SERVICE_DOMAIN_CREATE = _op(
    """mutation ServiceDomainCreate($input: ServiceDomainCreateInput!) {
      serviceDomainCreate(input: $input) { id domain suffix targetPort } }"""
)
SERVICE_DOMAIN_UPDATE = _op(
    "mutation ServiceDomainUpdate($input: ServiceDomainUpdateInput!) { serviceDomainUpdate(input: $input) }",
    idempotent=True,
)
SERVICE_DOMAIN_DELETE = _op(
    "mutation ServiceDomainDelete($id: String!) { serviceDomainDelete(id: $id) }", idempotent=True
)
CUSTOM_DOMAIN_CREATE = _op(
    """mutation CustomDomainCreate($input: CustomDomainCreateInput!) {
      customDomainCreate(input: $input) { id domain targetPort
        status { verified verificationDnsHost verificationToken certificateStatus
          dnsRecords { recordType hostlabel fqdn zone requiredValue currentValue status } } } }"""
)
CUSTOM_DOMAIN = _op(
    """query CustomDomain($id: String!, $projectId: String!) {
      customDomain(id: $id, projectId: $projectId) { id domain targetPort environmentId serviceId deletedAt
        status { verified verificationDnsHost verificationToken certificateStatus
          dnsRecords { recordType hostlabel fqdn zone requiredValue currentValue status } } } }"""
)
CUSTOM_DOMAIN_UPDATE = _op(
    """mutation CustomDomainUpdate($id: String!, $environmentId: String!, $targetPort: Int) {
      customDomainUpdate(id: $id, environmentId: $environmentId, targetPort: $targetPort) }""",
    idempotent=True,
)
CUSTOM_DOMAIN_DELETE = _op("mutation CustomDomainDelete($id: String!) { customDomainDelete(id: $id) }", idempotent=True)

# ---- deployment triggers --------------------------------------------------------------------------------
DEPLOYMENT_TRIGGERS = _op(
    """query DeploymentTriggers($projectId: String!, $environmentId: String!, $serviceId: String!) {
      deploymentTriggers(projectId: $projectId, environmentId: $environmentId, serviceId: $serviceId) {
        edges { node { id provider repository branch checkSuites } } } }"""
)
DEPLOYMENT_TRIGGER_CREATE = _op(
    """mutation DeploymentTriggerCreate($input: DeploymentTriggerCreateInput!) {
      deploymentTriggerCreate(input: $input) { id provider repository branch checkSuites } }"""
)
DEPLOYMENT_TRIGGER_UPDATE = _op(
    """mutation DeploymentTriggerUpdate($id: String!, $input: DeploymentTriggerUpdateInput!) {
      deploymentTriggerUpdate(id: $id, input: $input) { id branch } }""",
    idempotent=True,
)
DEPLOYMENT_TRIGGER_DELETE = _op(
    "mutation DeploymentTriggerDelete($id: String!) { deploymentTriggerDelete(id: $id) }", idempotent=True
)
# Whether the trigger deploys on its own ("Automatic deploys"): off when CI is the one deploy path.
AUTO_DEPLOY_STATUS = _op(
    """query ServiceInstanceAutoDeployStatus($projectId: String!, $environmentId: String!, $serviceId: String!) {
      serviceInstanceAutoDeployStatus(projectId: $projectId, environmentId: $environmentId, serviceId: $serviceId) {
        enabled } }"""
)
AUTO_DEPLOY_UPDATE = _op(
    """mutation ServiceInstanceAutoDeployUpdate($input: ServiceInstanceAutoDeployUpdateInput!) {
      serviceInstanceAutoDeployUpdate(input: $input) { enabled } }""",
    idempotent=True,  # sets a flag: sending it twice leaves the same state
)

# ---- project tokens ---------------------------------------------------------------------------------------
PROJECT_TOKEN_CREATE = _op(
    "mutation ProjectTokenCreate($input: ProjectTokenCreateInput!) { projectTokenCreate(input: $input) }"
)
PROJECT_TOKENS = _op(
    """query ProjectTokens($projectId: String!) {
      projectTokens(projectId: $projectId, first: 100) { edges { node { id name environmentId } } } }"""
)
PROJECT_TOKEN = _op("query ProjectToken { projectToken { id name projectId environmentId } }")
PROJECT_TOKEN_DELETE = _op("mutation ProjectTokenDelete($id: String!) { projectTokenDelete(id: $id) }", idempotent=True)

# ---- deployments ------------------------------------------------------------------------------------------
SERVICE_INSTANCE_DEPLOY = _op(
    """mutation ServiceInstanceDeployV2($serviceId: String!, $environmentId: String!) {
      serviceInstanceDeployV2(serviceId: $serviceId, environmentId: $environmentId) }"""
)
#: Deploy one named commit: the stack's redeploy of the commit that is live (never the branch's latest).
SERVICE_INSTANCE_DEPLOY_COMMIT = _op(
    """mutation ServiceInstanceDeployCommit($serviceId: String!, $environmentId: String!, $commitSha: String!) {
      serviceInstanceDeployV2(serviceId: $serviceId, environmentId: $environmentId, commitSha: $commitSha) }"""
)
DEPLOYMENT_CANCEL = _op("mutation DeploymentCancel($id: String!) { deploymentCancel(id: $id) }", idempotent=True)
DEPLOYMENT = _op(
    """query Deployment($id: String!) {
      deployment(id: $id) { id status createdAt statusUpdatedAt serviceId environmentId canRollback } }"""
)
DEPLOYMENTS = _op(
    """query Deployments($input: DeploymentListInput!, $first: Int) {
      deployments(input: $input, first: $first) {
        edges { node { id status createdAt statusUpdatedAt canRollback meta } } } }"""
)
DEPLOYMENT_ROLLBACK = _op("mutation DeploymentRollback($id: String!) { deploymentRollback(id: $id) }")

# ---- PostgreSQL from Railway's template, and volumes ------------------------------------------------------------
TEMPLATE = _op("query Template($code: String!) { template(code: $code) { id serializedConfig } }")
TEMPLATE_DEPLOY = _op(
    """mutation TemplateDeployV2($input: TemplateDeployV2Input!) {
      templateDeployV2(input: $input) { projectId workflowId } }"""
)
WORKFLOW_STATUS = _op(
    "query WorkflowStatus($workflowId: String!) { workflowStatus(workflowId: $workflowId) { status error } }"
)
ENVIRONMENT_VOLUME_INSTANCES = _op(
    """query EnvironmentVolumeInstances($environmentId: String!) {
      environment(id: $environmentId) { volumeInstances(first: 100) {
        edges { node { id volumeId serviceId mountPath } } } } }"""
)
ENVIRONMENT_INSTANCES = _op(
    """query EnvironmentInstances($environmentId: String!) {
      environment(id: $environmentId) {
        serviceInstances(first: 100) { edges { node { serviceId serviceName rootDirectory source { repo image } } } }
        volumeInstances(first: 100) { edges { node { id volumeId serviceId mountPath region } } } } }"""
)
VOLUME_DELETE = _op("mutation VolumeDelete($volumeId: String!) { volumeDelete(volumeId: $volumeId) }", idempotent=True)

# ---- volume backups: schedules (BackupSchedule resource), manual backups and restores (ops backup) ----
VOLUME_INSTANCE = _op(
    """query VolumeInstance($id: String!) {
      volumeInstance(id: $id) { id volumeId serviceId environmentId mountPath state sizeMB currentSizeMB } }"""
)
VOLUME_INSTANCE_BACKUP_SCHEDULES = _op(
    """query VolumeInstanceBackupScheduleList($volumeInstanceId: String!) {
      volumeInstanceBackupScheduleList(volumeInstanceId: $volumeInstanceId) {
        id kind name cron retentionSeconds createdAt } }"""
)
VOLUME_INSTANCE_BACKUP_SCHEDULE_UPDATE = _op(
    """mutation VolumeInstanceBackupScheduleUpdate($volumeInstanceId: String!,
        $kinds: [VolumeInstanceBackupScheduleKind!]!) {
      volumeInstanceBackupScheduleUpdate(volumeInstanceId: $volumeInstanceId, kinds: $kinds) }""",
    idempotent=True,
)
VOLUME_INSTANCE_BACKUPS = _op(
    """query VolumeInstanceBackupList($volumeInstanceId: String!) {
      volumeInstanceBackupList(volumeInstanceId: $volumeInstanceId) {
        id name createdAt expiresAt scheduleId usedMB referencedMB } }"""
)
VOLUME_INSTANCE_BACKUP_CREATE = _op(
    """mutation VolumeInstanceBackupCreate($volumeInstanceId: String!, $name: String) {
      volumeInstanceBackupCreate(volumeInstanceId: $volumeInstanceId, name: $name) { workflowId } }"""
)
VOLUME_INSTANCE_BACKUP_RESTORE = _op(
    """mutation VolumeInstanceBackupRestore($volumeInstanceId: String!, $volumeInstanceBackupId: String!) {
      volumeInstanceBackupRestore(volumeInstanceId: $volumeInstanceId,
        volumeInstanceBackupId: $volumeInstanceBackupId) { workflowId } }"""
)

# ---- notification rules: deployment failures mailed by Railway (NotificationRule resource) ----------------
NOTIFICATION_RULES = _op(
    """query NotificationRules($workspaceId: String!, $projectId: String) {
      notificationRules(workspaceId: $workspaceId, projectId: $projectId) {
        id workspaceId projectId eventTypes severities ephemeralEnvironments channels { id config } } }"""
)
NOTIFICATION_RULE_CREATE = _op(
    """mutation NotificationRuleCreate($input: CreateNotificationRuleInput!) {
      notificationRuleCreate(input: $input) { id workspaceId projectId eventTypes severities
        ephemeralEnvironments channels { id config } } }"""
)
NOTIFICATION_RULE_UPDATE = _op(
    """mutation NotificationRuleUpdate($id: String!, $input: UpdateNotificationRuleInput!) {
      notificationRuleUpdate(id: $id, input: $input) { id eventTypes severities ephemeralEnvironments
        channels { id config } } }""",
    idempotent=True,
)
NOTIFICATION_RULE_DELETE = _op(
    "mutation NotificationRuleDelete($id: String!) { notificationRuleDelete(id: $id) }", idempotent=True
)

# ---- Railway's own PR environments, kept off (PrEnvironmentSettings; docs/previews.md) ---------------------
PROJECT_PR_SETTINGS = _op(
    """query ProjectPrSettings($id: String!) {
      project(id: $id) { id deletedAt prDeploys botPrEnvironments focusedPrEnvironments } }"""
)
PROJECT_PR_SETTINGS_UPDATE = _op(
    """mutation ProjectPrSettingsUpdate($id: String!, $input: ProjectUpdateInput!) {
      projectUpdate(id: $id, input: $input) { id prDeploys botPrEnvironments focusedPrEnvironments } }""",
    idempotent=True,  # sets three flags
)

ALL: tuple[Operation, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Operation))
#: The root fields of every non-idempotent mutation: a document selecting one of them creates, whatever its
#: ``Operation`` says (the client's exactly-once check does not trust a hand-made ``idempotent=True``).
CREATING_ROOT_FIELDS: frozenset[str] = frozenset(o.root_field for o in ALL if o.creates)
