"""Issue 15's import speed: the search's tests are added by a SearchIndexJob after an import
(TestRun.search_pending marks the runs it has not done yet), and TestResult's two keys are no
longer checked by the database at commit (results.models.TestResult says why)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('results', '0010_trends_search_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='SearchIndexJob',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('state', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed')], db_index=True, default='queued', max_length=16)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('enqueued_at', models.DateTimeField(blank=True, null=True)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('max_attempts', models.PositiveIntegerField(default=3)),
                ('lease_expires_at', models.DateTimeField(blank=True, null=True)),
                ('worker', models.CharField(blank=True, max_length=200)),
                ('progress_done', models.BigIntegerField(default=0)),
                ('progress_total', models.BigIntegerField(blank=True, null=True)),
                ('progress_message', models.CharField(blank=True, max_length=500)),
                ('error', models.TextField(blank=True)),
                ('runs', models.IntegerField(default=0, help_text='Runs whose tests were added.')),
            ],
            options={
                'ordering': ['-created_at'],
                'abstract': False,
            },
        ),
        migrations.AddField(
            model_name='testrun',
            name='search_pending',
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.AlterField(
            model_name='testresult',
            name='project',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT, related_name='results', to='results.project'),
        ),
        migrations.AlterField(
            model_name='testresult',
            name='run',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='results', to='results.testrun'),
        ),
    ]
