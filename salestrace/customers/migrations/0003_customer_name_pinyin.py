from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0002_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='customer',
            name='name_pinyin',
            field=models.CharField(blank=True, editable=False, max_length=1000, verbose_name='name in pinyin'),
        ),
        migrations.AddField(
            model_name='customer',
            name='name_initials',
            field=models.CharField(blank=True, editable=False, max_length=200, verbose_name='pinyin initials'),
        ),
    ]
