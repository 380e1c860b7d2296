"""Evaluations: versioned indicator templates, rounds with parties, evaluators and scores, satisfaction surveys, evidence, findings and rectification items.

Revision ID: 8fc4c8ba6afc
Revises: 46a638e957d2
Create Date: 2026-11-21 11:59:18.301556

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8fc4c8ba6afc'
down_revision = '46a638e957d2'
branch_labels = None
depends_on = None

# The template that ships with svcproc (as svcproc.evaluations.tree.default_template() describes it),
# published as version 1 so the first rounds can use it.
DEFAULT_INDICATORS = [
    {"key": "management", "name": "项目管理", "weight": "20", "kind": "", "guide": "", "target": ""},
    {"key": "management.plan", "name": "项目方案与执行计划", "weight": "5", "kind": "evaluator", "guide": "需求评估充分，目标与活动设计对应，按计划推进", "target": ""},
    {"key": "management.team", "name": "团队配置与督导", "weight": "5", "kind": "evaluator", "guide": "持证社工比例、人员稳定、督导频次与记录", "target": ""},
    {"key": "management.records", "name": "服务台账与档案管理", "weight": "5", "kind": "evaluator", "guide": "台账完整、及时、真实，档案规范", "target": ""},
    {"key": "management.risk", "name": "制度建设与风险管理", "weight": "5", "kind": "evaluator", "guide": "安全预案、个人信息保护、投诉处理", "target": ""},
    {"key": "output", "name": "服务产出", "weight": "30", "kind": "", "guide": "", "target": ""},
    {"key": "output.cases", "name": "个案服务数量", "weight": "6", "kind": "output", "guide": "", "target": "target_cases"},
    {"key": "output.groups", "name": "小组活动节数", "weight": "6", "kind": "output", "guide": "", "target": "target_group_sessions"},
    {"key": "output.events", "name": "社区活动场次", "weight": "6", "kind": "output", "guide": "", "target": "target_events"},
    {"key": "output.person_times", "name": "服务人次", "weight": "6", "kind": "output", "guide": "", "target": "target_person_times"},
    {"key": "output.people", "name": "服务人数", "weight": "6", "kind": "output", "guide": "", "target": "target_people"},
    {"key": "outcome", "name": "服务成效", "weight": "25", "kind": "", "guide": "", "target": ""},
    {"key": "outcome.needs", "name": "服务对象需求改善", "weight": "10", "kind": "evaluator", "guide": "个案目标达成、前后测变化", "target": ""},
    {"key": "outcome.community", "name": "社区参与与互助网络", "weight": "8", "kind": "evaluator", "guide": "志愿者培育、居民自组织、微议事成果", "target": ""},
    {"key": "outcome.resources", "name": "资源链接与社会影响", "weight": "7", "kind": "evaluator", "guide": "链接资源数量与价值、宣传报道", "target": ""},
    {"key": "satisfaction", "name": "满意度", "weight": "15", "kind": "", "guide": "", "target": ""},
    {"key": "satisfaction.beneficiaries", "name": "服务对象满意度", "weight": "10", "kind": "satisfaction", "guide": "", "target": ""},
    {"key": "satisfaction.community", "name": "社区及相关方满意度", "weight": "5", "kind": "evaluator", "guide": "社区居委会、街道的评价", "target": ""},
    {"key": "finance", "name": "财务管理", "weight": "10", "kind": "", "guide": "", "target": ""},
    {"key": "finance.budget", "name": "预算执行", "weight": "5", "kind": "evaluator", "guide": "资金使用进度与预算相符", "target": ""},
    {"key": "finance.compliance", "name": "财务合规", "weight": "5", "kind": "evaluator", "guide": "专款专用、票据合规、无违规支出", "target": ""},
]
DEFAULT_BANDS = [["1.00", "1"], ["0.80", "2/3"], ["0.60", "1/3"], ["0.00", "0"]]


def upgrade():
    op.create_table('indicator_template',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator_template')),
    sa.UniqueConstraint('name', name=op.f('uq_indicator_template_name'))
    )
    op.create_table('template_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'published', 'retired', name='template_version_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('indicators', sa.JSON(), nullable=False),
    sa.Column('bands', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_template_version_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['template_id'], ['indicator_template.id'], name=op.f('fk_template_version_template_id_indicator_template')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_template_version')),
    sa.UniqueConstraint('template_id', 'number', name='uq_template_version_number')
    )
    with op.batch_alter_table('template_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_template_version_template_id'), ['template_id'], unique=False)

    op.create_table('evaluation_round',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('midterm', 'final', 'special', name='round_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('template_version_id', sa.Integer(), nullable=False),
    sa.Column('evaluation_org_id', sa.Integer(), nullable=True),
    sa.Column('target_percent', sa.Integer(), nullable=False),
    sa.Column('scheduled_start', sa.Date(), nullable=False),
    sa.Column('scheduled_end', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('planned', 'scoring', 'finalized', 'cancelled', name='round_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=True),
    sa.Column('computed', sa.JSON(), nullable=False),
    sa.Column('finalized_at', sa.DateTime(), nullable=True),
    sa.Column('total', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('grade', sa.String(length=16), nullable=True),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_evaluation_round_contract_id_contract')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_evaluation_round_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['evaluation_org_id'], ['organization.id'], name=op.f('fk_evaluation_round_evaluation_org_id_organization')),
    sa.ForeignKeyConstraint(['template_version_id'], ['template_version.id'], name=op.f('fk_evaluation_round_template_version_id_template_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_round'))
    )
    with op.batch_alter_table('evaluation_round', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_round_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluation_round_evaluation_org_id'), ['evaluation_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluation_round_grade'), ['grade'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluation_round_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluation_round_template_version_id'), ['template_version_id'], unique=False)

    op.create_table('evaluation_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['file_id'], ['stored_file.id'], name=op.f('fk_evaluation_evidence_file_id_stored_file')),
    sa.ForeignKeyConstraint(['round_id'], ['evaluation_round.id'], name=op.f('fk_evaluation_evidence_round_id_evaluation_round')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_evaluation_evidence_uploaded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_evidence'))
    )
    with op.batch_alter_table('evaluation_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_evidence_round_id'), ['round_id'], unique=False)

    op.create_table('evaluation_finding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_evaluation_finding_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['round_id'], ['evaluation_round.id'], name=op.f('fk_evaluation_finding_round_id_evaluation_round')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_finding'))
    )
    with op.batch_alter_table('evaluation_finding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_finding_round_id'), ['round_id'], unique=False)

    op.create_table('evaluation_party',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('weight', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['evaluation_round.id'], name=op.f('fk_evaluation_party_round_id_evaluation_round')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_party'))
    )
    with op.batch_alter_table('evaluation_party', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_party_round_id'), ['round_id'], unique=False)

    op.create_table('satisfaction_survey',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('leaf_key', sa.String(length=100), nullable=False),
    sa.Column('group_name', sa.String(length=100), nullable=False),
    sa.Column('surveyed', sa.Integer(), nullable=False),
    sa.Column('satisfied', sa.Integer(), nullable=False),
    sa.Column('surveyed_on', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_satisfaction_survey_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['file_id'], ['stored_file.id'], name=op.f('fk_satisfaction_survey_file_id_stored_file')),
    sa.ForeignKeyConstraint(['round_id'], ['evaluation_round.id'], name=op.f('fk_satisfaction_survey_round_id_evaluation_round')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_satisfaction_survey'))
    )
    with op.batch_alter_table('satisfaction_survey', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_satisfaction_survey_round_id'), ['round_id'], unique=False)

    op.create_table('rectification_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('open', 'responded', 'closed', name='rectification_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(), nullable=False),
    sa.Column('status_note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_rectification_item_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['finding_id'], ['evaluation_finding.id'], name=op.f('fk_rectification_item_finding_id_evaluation_finding')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_item'))
    )
    with op.batch_alter_table('rectification_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_item_finding_id'), ['finding_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rectification_item_status'), ['status'], unique=False)

    op.create_table('round_evaluator',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('assigned_at', sa.DateTime(), nullable=False),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.Column('declared_at', sa.DateTime(), nullable=True),
    sa.Column('declared_related', sa.Boolean(), nullable=False),
    sa.Column('declaration_note', sa.Text(), nullable=False),
    sa.Column('conflicted', sa.Boolean(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['user_account.id'], name=op.f('fk_round_evaluator_assigned_by_id_user_account')),
    sa.ForeignKeyConstraint(['party_id'], ['evaluation_party.id'], name=op.f('fk_round_evaluator_party_id_evaluation_party')),
    sa.ForeignKeyConstraint(['round_id'], ['evaluation_round.id'], name=op.f('fk_round_evaluator_round_id_evaluation_round')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_round_evaluator_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_round_evaluator')),
    sa.UniqueConstraint('round_id', 'user_id', name='uq_round_evaluator')
    )
    with op.batch_alter_table('round_evaluator', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_round_evaluator_party_id'), ['party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_round_evaluator_round_id'), ['round_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_round_evaluator_user_id'), ['user_id'], unique=False)

    op.create_table('evaluation_score',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('evaluator_id', sa.Integer(), nullable=False),
    sa.Column('leaf_key', sa.String(length=100), nullable=False),
    sa.Column('points', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['evaluator_id'], ['round_evaluator.id'], name=op.f('fk_evaluation_score_evaluator_id_round_evaluator')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_score')),
    sa.UniqueConstraint('evaluator_id', 'leaf_key', name='uq_evaluation_score')
    )
    with op.batch_alter_table('evaluation_score', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_score_evaluator_id'), ['evaluator_id'], unique=False)

    op.create_table('rectification_response',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_rectification_response_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['item_id'], ['rectification_item.id'], name=op.f('fk_rectification_response_item_id_rectification_item')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_response'))
    )
    with op.batch_alter_table('rectification_response', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_response_item_id'), ['item_id'], unique=False)

    op.create_table('rectification_response_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['stored_file.id'], name=op.f('fk_rectification_response_file_file_id_stored_file')),
    sa.ForeignKeyConstraint(['response_id'], ['rectification_response.id'], name=op.f('fk_rectification_response_file_response_id_rectification_response')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_response_file'))
    )
    with op.batch_alter_table('rectification_response_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_response_file_response_id'), ['response_id'], unique=False)



    now = datetime.now(timezone.utc).replace(tzinfo=None)
    template = sa.table("indicator_template", sa.column("id", sa.Integer), sa.column("name", sa.String),
                        sa.column("description", sa.Text), sa.column("created_at", sa.DateTime),
                        sa.column("version", sa.Integer))
    version = sa.table("template_version", sa.column("template_id", sa.Integer), sa.column("number", sa.Integer),
                       sa.column("status", sa.String), sa.column("indicators", sa.JSON), sa.column("bands", sa.JSON),
                       sa.column("note", sa.Text), sa.column("created_at", sa.DateTime),
                       sa.column("published_at", sa.DateTime), sa.column("version", sa.Integer))
    op.bulk_insert(template, [{"id": 1, "name": "社会工作服务项目评估指标（默认）",
                               "description": "项目管理 20、服务产出 30、服务成效 25、满意度 15、财务管理 10",
                               "created_at": now, "version": 1}])
    op.bulk_insert(version, [{"template_id": 1, "number": 1, "status": "published", "indicators": DEFAULT_INDICATORS,
                              "bands": DEFAULT_BANDS, "note": "", "created_at": now, "published_at": now,
                              "version": 1}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('indicator_template', 'id'), 1)")


def downgrade():
    with op.batch_alter_table('rectification_response_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectification_response_file_response_id'))

    op.drop_table('rectification_response_file')
    with op.batch_alter_table('rectification_response', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectification_response_item_id'))

    op.drop_table('rectification_response')
    with op.batch_alter_table('evaluation_score', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_score_evaluator_id'))

    op.drop_table('evaluation_score')
    with op.batch_alter_table('round_evaluator', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_round_evaluator_user_id'))
        batch_op.drop_index(batch_op.f('ix_round_evaluator_round_id'))
        batch_op.drop_index(batch_op.f('ix_round_evaluator_party_id'))

    op.drop_table('round_evaluator')
    with op.batch_alter_table('rectification_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectification_item_status'))
        batch_op.drop_index(batch_op.f('ix_rectification_item_finding_id'))

    op.drop_table('rectification_item')
    with op.batch_alter_table('satisfaction_survey', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_satisfaction_survey_round_id'))

    op.drop_table('satisfaction_survey')
    with op.batch_alter_table('evaluation_party', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_party_round_id'))

    op.drop_table('evaluation_party')
    with op.batch_alter_table('evaluation_finding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_finding_round_id'))

    op.drop_table('evaluation_finding')
    with op.batch_alter_table('evaluation_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_evidence_round_id'))

    op.drop_table('evaluation_evidence')
    with op.batch_alter_table('evaluation_round', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_round_template_version_id'))
        batch_op.drop_index(batch_op.f('ix_evaluation_round_status'))
        batch_op.drop_index(batch_op.f('ix_evaluation_round_grade'))
        batch_op.drop_index(batch_op.f('ix_evaluation_round_evaluation_org_id'))
        batch_op.drop_index(batch_op.f('ix_evaluation_round_contract_id'))

    op.drop_table('evaluation_round')
    with op.batch_alter_table('template_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_template_version_template_id'))

    op.drop_table('template_version')
    op.drop_table('indicator_template')
