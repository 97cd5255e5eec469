"""TestResult's status check becomes equalities joined by OR (SQLite built a table of the IN
list for every row inserted). One operation, so that SQLite copies the table once, not once to
drop the old check and once to add the new one."""

import operator
from functools import reduce

from django.db import migrations, models

LETTERS = ["P", "F", "E", "D", "M", *"abcdefghijklmnopqrstuvwxyz"]
OLD = models.CheckConstraint(condition=models.Q(status__in=LETTERS), name="result_status_letter")
NEW = models.CheckConstraint(
    condition=reduce(operator.or_, (models.Q(status=letter) for letter in LETTERS)),
    name="result_status_one_letter",
)


class ReplaceConstraint(migrations.operations.base.Operation):
    """RemoveConstraint(old) and AddConstraint(new) as one step."""

    reversible = True

    def __init__(self, model_name: str, old: models.BaseConstraint, new: models.BaseConstraint):
        self.model_name, self.old, self.new = model_name, old, new

    def state_forwards(self, app_label, state):
        state.remove_constraint(app_label, self.model_name, self.old.name)
        state.add_constraint(app_label, self.model_name, self.new)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._swap(app_label, schema_editor, to_state, self.old, self.new)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._swap(app_label, schema_editor, to_state, self.new, self.old)

    def _swap(self, app_label, schema_editor, state_after, gone, added):
        model = state_after.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "sqlite":
            # SQLite changes a check only by copying the table: once, as the state after has it.
            schema_editor._remake_table(model)
            return
        schema_editor.remove_constraint(model, gone)
        schema_editor.add_constraint(model, added)

    def describe(self):
        return f"Replace constraint {self.old.name} with {self.new.name} on {self.model_name}"


class Migration(migrations.Migration):
    dependencies = [
        ("results", "0012_bytewise_result_identity"),
    ]

    operations = [ReplaceConstraint("testresult", OLD, NEW)]
